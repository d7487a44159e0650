// Package uitest drives the dashboard (/ui/, http/ui/) in a real headless
// Chromium against a real node: the page is plain JavaScript polling the
// REST API, and the only honest test of it is a browser running it against
// the binary people run. It has tests only.
//
// The node runs on a virtual clock with the sim provider, so a campaign
// dials, its charts move and its calls end within seconds. Each step saves
// a PNG screenshot to $DIALERD_ARTIFACTS, or to test-artifacts/ui/ at the
// repository root, for a person to look at.
//
// Without a chromium binary on PATH the test skips, unless
// DIALERD_REQUIRE_CHROMIUM=1 (set by CI), where it fails. See docs/ui.md.
package uitest
