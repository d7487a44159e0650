package ctl

// commands is the command tree.
func commands() *command {
	return &command{name: "dialerctl",
		subs: []*command{campaignsCmd(), listsCmd(), uploadCmd(), prospectsCmd(), agentsCmd(), seatsCmd(), tokensCmd(), dncCmd(), clusterCmd()},
		examples: []string{
			"export DIALER_URL=http://127.0.0.1:8080 DIALER_TOKEN=dev-admin-token",
			"dialerctl campaigns create --name 'February Reminders' --workspace ws_001 --agent team-a",
			"dialerctl lists create --name 'February list' --campaign february-reminders",
			"dialerctl upload prospects.csv --list february-list",
			"dialerctl campaigns status february-reminders --watch",
			"dialerctl campaigns list --json | jq '.[].slug'",
		}}
}
