// The docs page: fetches the node's OpenAPI document and renders it. Plain
// DOM, no library, no outside resource: the node serves it as one page.
(function () {
  "use strict";

  var METHODS = ["get", "post", "put", "patch", "delete"];
  var doc = null;

  // h builds an element: h("a", {href: "#x", class: "y"}, child, …).
  // Children are nodes or strings (always text, never HTML).
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") el.className = v;
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }

  // --- Markdown, the small part of it the document uses ---

  // inline renders `code`, **bold** and [text](url) into nodes.
  function inline(text) {
    var out = [];
    var re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
    var last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      if (m[1] !== undefined) out.push(h("code", null, m[1]));
      else if (m[2] !== undefined) out.push(h("strong", null, m[2]));
      else {
        var href = m[4];
        // Only links that stay on the web or on this page.
        if (/^(https?:|#|\/)/.test(href)) out.push(h("a", { href: href }, m[3]));
        else out.push(m[3]);
      }
      last = re.lastIndex;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  // markdown renders paragraphs, ## headings, - lists and ``` blocks.
  function markdown(src, headingLevel) {
    var box = h("div", { class: "prose" });
    if (!src) return box;
    var lines = String(src).split("\n");
    var para = [], list = null, i = 0;
    function flush() {
      if (para.length) { box.appendChild(h("p", null, inline(para.join(" ")))); para = []; }
      if (list) { box.appendChild(list); list = null; }
    }
    while (i < lines.length) {
      var line = lines[i];
      if (/^```/.test(line)) {
        flush();
        var code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        box.appendChild(codePanel(null, [{ label: "", text: code.join("\n") }]));
      } else if (/^#{1,6} /.test(line)) {
        flush();
        var level = Math.min(6, (headingLevel || 2) + line.indexOf(" ") - 2);
        var title = line.replace(/^#+ /, "");
        box.appendChild(h("h" + level, { id: "intro-" + slug(title) }, inline(title)));
      } else if (/^\s*[-*] /.test(line)) {
        if (para.length) flush();
        if (!list) list = h("ul");
        list.appendChild(h("li", null, inline(line.replace(/^\s*[-*] /, ""))));
      } else if (line.trim() === "") {
        flush();
      } else {
        if (list) flush();
        para.push(line.trim());
      }
      i++;
    }
    flush();
    return box;
  }

  function slug(s) {
    return String(s).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  }

  // --- References and schemas ---

  function pointer(ref) {
    if (ref.charAt(0) !== "#") return null; // only this document's
    var node = doc;
    ref.slice(2).split("/").forEach(function (part) {
      part = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      node = node == null ? undefined : node[part];
    });
    return node;
  }

  // deref follows $ref (keywords next to it apply too, as in OpenAPI 3.1).
  function deref(obj) {
    for (var n = 0; obj && obj.$ref && n < 20; n++) {
      var target = pointer(obj.$ref) || {};
      var merged = {};
      Object.keys(target).forEach(function (k) { merged[k] = target[k]; });
      Object.keys(obj).forEach(function (k) { if (k !== "$ref") merged[k] = obj[k]; });
      obj = merged;
    }
    return obj || {};
  }

  function refName(ref) {
    return ref ? ref.split("/").pop() : "";
  }

  // flatten merges allOf into one schema: properties, required, the rest.
  function flatten(schema) {
    schema = deref(schema);
    if (!schema.allOf) return schema;
    var out = { properties: {}, required: [] };
    var parts = schema.allOf.map(flatten);
    parts.push(schema);
    parts.forEach(function (p) {
      Object.keys(p).forEach(function (k) {
        if (k === "properties") Object.keys(p.properties).forEach(function (n) { out.properties[n] = p.properties[n]; });
        else if (k === "required") out.required = out.required.concat(p.required);
        else if (k !== "allOf" && (out[k] === undefined || k === "description")) out[k] = p[k];
      });
    });
    if (schema.description) out.description = schema.description;
    return out;
  }

  function types(schema) {
    var t = schema.type;
    if (t === undefined) return [];
    return Array.isArray(t) ? t : [t];
  }

  // typeLabel says what a value is: "string", "array of Campaign", "integer | null".
  function typeLabel(raw) {
    var name = raw && raw.$ref ? refName(raw.$ref) : "";
    var s = flatten(raw);
    if (s.oneOf || s.anyOf) {
      return (s.oneOf || s.anyOf).map(typeLabel).join(" | ");
    }
    var ts = types(s);
    var label = ts.map(function (t) {
      if (t === "array") {
        var items = s.items ? typeLabel(s.items) : "any";
        return "array of " + items;
      }
      if (t === "object" && name) return name;
      if (t === "object" && s.additionalProperties && typeof s.additionalProperties === "object" && !s.properties) {
        return "map of " + typeLabel(s.additionalProperties);
      }
      if (t === "string" && s.format) return "string (" + s.format + ")";
      return t;
    }).join(" | ");
    if (!label && name) label = name;
    if (!label && s.properties) label = "object";
    return label || "any";
  }

  function constraints(s) {
    var out = [];
    function add(label, value) { out.push(h("span", null, label + " ", h("code", null, JSON.stringify(value)))); }
    if (s.default !== undefined) add("default", s.default);
    if (s.const !== undefined) add("always", s.const);
    if (s.minimum !== undefined) add("min", s.minimum);
    if (s.exclusiveMinimum !== undefined) add("greater than", s.exclusiveMinimum);
    if (s.maximum !== undefined) add("max", s.maximum);
    if (s.minLength !== undefined) add("min length", s.minLength);
    if (s.maxLength !== undefined) add("max length", s.maxLength);
    if (s.minItems !== undefined) add("min items", s.minItems);
    if (s.maxItems !== undefined) add("max items", s.maxItems);
    if (s.maxProperties !== undefined) add("max entries", s.maxProperties);
    if (s.pattern !== undefined) out.push(h("span", null, "pattern ", h("code", null, s.pattern)));
    if (s.contentMediaType) out.push(h("span", null, "file ", h("code", null, s.contentMediaType)));
    return out.length ? h("div", { class: "constraints" }, out) : null;
  }

  // children returns what a value holds that deserves its own list: an
  // object's properties, an array's items' properties, variants.
  function hasChildren(raw) {
    var s = flatten(raw);
    if (types(s).indexOf("array") >= 0 && s.items) return hasChildren(s.items);
    return !!(s.properties && Object.keys(s.properties).length) || !!(s.oneOf || s.anyOf) ||
      (s.additionalProperties && typeof s.additionalProperties === "object" && hasChildren(s.additionalProperties));
  }

  // fields renders a schema's attributes as a list, nested objects folded.
  function fields(raw, seen) {
    seen = seen || [];
    var s = flatten(raw);
    if (types(s).indexOf("array") >= 0 && s.items) return fields(s.items, seen);
    var list = h("ul", { class: "fields" });
    var variants = s.oneOf || s.anyOf;
    var choice = variants && variants.every(function (v) { var vs = deref(v); return vs.required && !vs.properties && !vs.type; });
    if (choice) {
      // Variants that only say which property to give: one line.
      var names = [];
      variants.forEach(function (v) { names = names.concat(deref(v).required); });
      var rest = fields(Object.assign({}, s, { oneOf: undefined, anyOf: undefined }), seen);
      return h("div", null, rest, h("p", { class: "variant-label" }, s.oneOf ? "Give exactly one of " : "Give at least one of ",
        names.map(function (n, i) { return [i ? ", " : "", h("code", null, n)]; }), "."));
    }
    if (variants) {
      var box = h("div");
      if (s.properties) box.appendChild(fields(Object.assign({}, s, { oneOf: undefined, anyOf: undefined }), seen));
      variants.forEach(function (v, i) {
        var vs = flatten(v);
        var label = v.$ref ? refName(v.$ref) : (vs.required ? "with " + vs.required.join(", ") : "variant " + (i + 1));
        box.appendChild(h("p", { class: "variant-label" }, (s.oneOf ? "One of — " : "Any of — ") + label));
        if (hasChildren(v) && !(vs.required && !vs.properties)) box.appendChild(fields(v, seen));
        else if (vs.description) box.appendChild(h("div", { class: "field-desc" }, markdown(vs.description)));
      });
      return box;
    }
    var required = s.required || [];
    Object.keys(s.properties || {}).forEach(function (name) {
      list.appendChild(field(name, s.properties[name], required.indexOf(name) >= 0, seen));
    });
    var ap = s.additionalProperties;
    if (ap && typeof ap === "object") {
      list.appendChild(field("‹any name›", ap, false, seen));
    }
    return list;
  }

  function field(name, raw, required, seen, where) {
    var s = flatten(raw);
    var item = h("li", { class: "field" },
      h("div", { class: "field-head" },
        h("span", { class: "field-name" }, name),
        h("span", { class: "field-type" }, typeLabel(raw)),
        where ? h("span", { class: "badge in" }, where) : null,
        required ? h("span", { class: "badge required" }, "required") : null));
    if (s.description) item.appendChild(h("div", { class: "field-desc" }, markdown(s.description)));
    var enumSrc = s.enum || (s.items && flatten(s.items).enum);
    if (enumSrc) {
      item.appendChild(h("div", { class: "enum-values" }, "One of ",
        enumSrc.map(function (v) { return h("code", null, v === "" ? '""' : String(v)); })));
    }
    append(item, constraints(s));
    var ref = raw.$ref || (s.items && s.items.$ref);
    if (hasChildren(raw) && (!ref || seen.indexOf(ref) < 0) && seen.length < 8) {
      var det = h("details", { class: "nested" }, h("summary", null, "Child attributes"));
      det.addEventListener("toggle", function once() {
        // Rendered when opened: deep schemas stay cheap until needed.
        if (det.open && det.childNodes.length === 1) det.appendChild(fields(raw, ref ? seen.concat([ref]) : seen));
      });
      item.appendChild(det);
    }
    return item;
  }

  // --- Code panels ---

  // highlight renders JSON text with its keys, strings and numbers coloured.
  function highlight(text) {
    var out = [];
    var re = /("(?:\\.|[^"\\])*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;
    var last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      if (m[1] !== undefined) {
        out.push(h("span", { class: m[2] ? "j-key" : "j-str" }, m[1]));
        if (m[2]) out.push(m[2]);
      } else if (m[3] !== undefined) out.push(h("span", { class: "j-num" }, m[3]));
      else out.push(h("span", { class: "j-lit" }, m[4]));
      last = re.lastIndex;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  // codePanel is a dark box with tabs (label → text) and a copy button.
  function codePanel(title, tabs, json) {
    var pre = h("pre");
    var current = 0;
    var buttons = [];
    function show(i) {
      current = i;
      pre.textContent = "";
      append(pre, json && tabs[i].json ? highlight(tabs[i].text) : tabs[i].text);
      buttons.forEach(function (b, j) { b.className = j === i ? "on" : ""; });
    }
    var tabBar = h("div", { class: "tabs" });
    if (tabs.length > 1 || (tabs[0] && tabs[0].label)) {
      tabs.forEach(function (t, i) {
        var b = h("button", { type: "button", onclick: function () { show(i); } }, t.label);
        buttons.push(b);
        tabBar.appendChild(b);
      });
    }
    var copy = h("button", { type: "button", class: "copy", title: "Copy" }, "Copy");
    copy.addEventListener("click", function () {
      var text = tabs[current].text;
      var done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1200); };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, function () {});
      else {
        var range = document.createRange();
        range.selectNodeContents(pre);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      }
    });
    var panel = h("div", { class: "code" },
      h("div", { class: "code-head" }, title ? h("span", null, title) : null, tabBar, copy), pre);
    if (tabs.length) show(0);
    return panel;
  }

  function exampleValues(media) {
    var out = [];
    if (!media) return out;
    if (media.examples) {
      Object.keys(media.examples).forEach(function (k) {
        var ex = deref(media.examples[k]);
        out.push({ name: k, summary: ex.summary || k, value: ex.value });
      });
    } else if (media.example !== undefined) {
      out.push({ name: "example", summary: "Example", value: media.example });
    }
    return out;
  }

  // mediaName is a short tab label for a media type.
  function mediaName(ct) {
    return { "application/json": "JSON", "application/x-www-form-urlencoded": "Form", "multipart/form-data": "Multipart", "text/csv": "CSV" }[ct] || ct;
  }

  function shellQuote(s) {
    return "'" + String(s).replace(/'/g, "'\\''") + "'";
  }

  function pathWithExamples(path, params) {
    return path.replace(/\{([^}]+)\}/g, function (all, name) {
      var p = params.filter(function (x) { return x.in === "path" && x.name === name; })[0];
      return p && p.example !== undefined ? encodeURI(String(p.example)) : all;
    });
  }

  // curl writes the command that sends an example.
  function curl(method, path, op, params, ct, value) {
    var lines = [];
    var cmd = "curl";
    if (method !== "get") cmd += " -X " + method.toUpperCase();
    cmd += " " + shellQuote(location.origin + pathWithExamples(path, params));
    lines.push(cmd);
    var sec = op.security !== undefined ? op.security : doc.security || [];
    var schemes = sec.map(function (r) { return Object.keys(r)[0]; });
    if (schemes.indexOf("webhookSignature") >= 0) {
      lines.push("-H 'X-Dialerd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>'");
    } else if (schemes.length) {
      lines.push("-H \"Authorization: Bearer $DIALER_TOKEN\"");
    }
    var pre = [];
    if (ct === "application/json") {
      lines.push("-H 'Content-Type: application/json'");
      lines.push("-d " + shellQuote(JSON.stringify(value, null, 2)));
    } else if (ct === "application/x-www-form-urlencoded") {
      Object.keys(value || {}).forEach(function (k) { lines.push("--data-urlencode " + shellQuote(k + "=" + value[k])); });
    } else if (ct === "multipart/form-data") {
      Object.keys(value || {}).forEach(function (k) {
        if (k === "file") {
          pre.push("# file.csv:", String(value[k]).replace(/\n$/, "").split("\n").map(function (l) { return "#   " + l; }).join("\n"));
          lines.push("-F 'file=@file.csv'");
        } else lines.push("-F " + shellQuote(k + "=" + value[k]));
      });
    } else if (ct) {
      pre.push("# file.csv:", String(value).replace(/\n$/, "").split("\n").map(function (l) { return "#   " + l; }).join("\n"));
      lines.push("-H 'Content-Type: " + ct + "'");
      lines.push("--data-binary @file.csv");
    }
    return (pre.length ? pre.join("\n") + "\n" : "") + lines.join(" \\\n  ");
  }

  // --- The page ---

  function operations() {
    var ops = [];
    Object.keys(doc.paths).forEach(function (path) {
      var item = doc.paths[path];
      METHODS.forEach(function (m) {
        if (item[m]) ops.push({ path: path, method: m, op: item[m], item: item });
      });
    });
    return ops;
  }

  function opID(o) {
    return "op-" + (o.op.operationId || slug(o.method + " " + o.path));
  }

  function pathNode(path) {
    return path.split(/(\{[^}]+\})/).map(function (part) {
      return /^\{/.test(part) ? h("span", { class: "param" }, part) : part;
    });
  }

  function statusClass(code) {
    return "status s" + String(code).charAt(0);
  }

  function renderOperation(o) {
    var op = o.op;
    var params = (o.item.parameters || []).concat(op.parameters || []).map(deref);
    var left = h("div", { class: "op-left" });
    var right = h("div", { class: "op-right" });

    if (op.description) left.appendChild(markdown(op.description));

    if (params.length) {
      left.appendChild(h("h4", null, "Parameters"));
      var list = h("ul", { class: "fields" });
      params.forEach(function (p) {
        var li = field(p.name, p.schema || {}, !!p.required, [], p.in);
        if (p.description) {
          var desc = li.querySelector(".field-desc");
          var md = h("div", { class: "field-desc" }, markdown(p.description));
          if (desc) li.replaceChild(md, desc); else li.insertBefore(md, li.childNodes[1] || null);
        }
        if (p.example !== undefined) li.appendChild(h("div", { class: "constraints" }, h("span", null, "example ", h("code", null, String(p.example)))));
        list.appendChild(li);
      });
      left.appendChild(list);
    }

    var body = op.requestBody ? deref(op.requestBody) : null;
    var requestTabs = [];
    if (body && body.content) {
      var cts = Object.keys(body.content);
      // Media types that share a schema are described once.
      var groups = [];
      cts.forEach(function (ct) {
        var schema = body.content[ct].schema || {};
        var key = JSON.stringify(schema);
        var g = groups.filter(function (x) { return x.key === key; })[0];
        if (g) g.cts.push(ct); else groups.push({ key: key, schema: schema, cts: [ct] });
      });
      groups.forEach(function (g) {
        left.appendChild(h("h4", null, "Request body · " + g.cts.join(", ")));
        if (hasChildren(g.schema)) left.appendChild(fields(g.schema));
        else left.appendChild(h("div", { class: "field-desc" }, markdown(flatten(g.schema).description || typeLabel(g.schema))));
      });
      cts.forEach(function (ct) {
        exampleValues(body.content[ct]).forEach(function (ex) {
          requestTabs.push({ label: cts.length > 1 ? mediaName(ct) : ex.summary, text: curl(o.method, o.path, op, params, ct, ex.value) });
        });
      });
    }
    if (!requestTabs.length) requestTabs.push({ label: "", text: curl(o.method, o.path, op, params, null, null) });
    right.appendChild(codePanel("Request", requestTabs));

    left.appendChild(h("h4", null, "Responses"));
    var responses = h("ul", { class: "responses" });
    var responseTabs = [];
    Object.keys(op.responses || {}).sort().forEach(function (code) {
      var raw = op.responses[code];
      var r = deref(raw);
      var det = h("details", null,
        h("summary", null, h("span", { class: statusClass(code) }, code), h("span", { class: "response-desc" }, inline(r.description || ""))));
      var inner = h("div", { class: "response-body" });
      Object.keys(r.content || {}).forEach(function (ct) {
        var media = r.content[ct];
        inner.appendChild(h("div", { class: "ct" }, ct + (raw.$ref ? " · " + refName(raw.$ref) : "") + " · " + typeLabel(media.schema || {})));
        if (media.schema && hasChildren(media.schema)) inner.appendChild(fields(media.schema));
        exampleValues(media).forEach(function (ex) {
          var text = typeof ex.value === "string" ? ex.value : JSON.stringify(ex.value, null, 2);
          if (code.charAt(0) === "2") responseTabs.push({ label: code + " · " + ex.summary, text: text, json: typeof ex.value !== "string" });
          else inner.appendChild(codePanel(ex.summary, [{ label: "", text: text, json: typeof ex.value !== "string" }], true));
        });
      });
      if (!inner.childNodes.length) inner.appendChild(h("div", { class: "field-desc" }, "No body."));
      det.appendChild(inner);
      if (code.charAt(0) === "2") det.open = true;
      responses.appendChild(h("li", { class: "response" }, det));
    });
    left.appendChild(responses);
    if (responseTabs.length) right.appendChild(codePanel("Response", responseTabs, true));

    var sec = op.security !== undefined ? op.security : doc.security || [];
    var auth = !sec.length ? "No authentication." :
      sec.some(function (r) { return r.webhookSignature; }) ? "Authenticated by the X-Dialerd-Signature header, not a token." :
        "Needs a token: Authorization: Bearer, or the access_token cookie.";
    var section = h("section", { class: "op", id: opID(o), "data-search": (o.method + " " + o.path + " " + (op.summary || "") + " " + (op.operationId || "")).toLowerCase() },
      h("div", { class: "op-head" },
        h("h3", { class: "op-title" }, op.summary || o.path),
        h("div", { class: "op-path" }, h("span", { class: "method " + o.method }, o.method), h("span", null, pathNode(o.path))),
        h("div", { class: "auth-note" }, auth)),
      left, right);
    return section;
  }

  function render() {
    var main = document.getElementById("main");
    var nav = document.getElementById("nav");
    main.textContent = "";
    nav.textContent = "";
    document.title = doc.info.title;
    document.getElementById("brand-name").textContent = doc.info.title;
    document.getElementById("brand-version").textContent = "OpenAPI " + doc.openapi + " · version " + doc.info.version;

    var navIntro = h("div", { class: "nav-group" }, h("div", { class: "nav-title" }, "Overview"),
      h("a", { class: "nav-link", href: "#introduction" }, "Introduction"),
      h("a", { class: "nav-link", href: "#errors" }, "Error codes"));
    nav.appendChild(navIntro);

    var intro = h("section", { class: "section", id: "introduction" },
      h("h1", null, doc.info.title),
      doc.info.summary ? h("p", { class: "summary-line" }, doc.info.summary) : null,
      markdown(doc.info.description, 2),
      h("p", null, "The document itself: ", h("a", { href: "/api/openapi.json" }, "/api/openapi.json"), "."));
    main.appendChild(intro);

    var codes = doc["x-error-codes"] || [];
    var table = h("table", { class: "codes" },
      h("thead", null, h("tr", null, h("th", null, "Status"), h("th", null, "Code"), h("th", null, "Meaning"))),
      h("tbody", null, codes.map(function (c) {
        return h("tr", null, h("td", null, h("span", { class: statusClass(c.status) }, String(c.status))),
          h("td", null, h("code", null, c.code)), h("td", null, inline(c.description)));
      })));
    main.appendChild(h("section", { class: "section", id: "errors" },
      h("h2", null, "Error codes"),
      markdown("Every error answers one of these statuses with `{\"detail\": \"…\"}`, or for a validation error with fields, a map of each bad field to its messages."),
      table));

    var ops = operations();
    var tags = (doc.tags || []).map(function (t) { return t.name; });
    ops.forEach(function (o) {
      (o.op.tags || ["Other"]).forEach(function (t) { if (tags.indexOf(t) < 0) tags.push(t); });
    });
    tags.forEach(function (tag) {
      var tagOps = ops.filter(function (o) { return (o.op.tags || ["Other"]).indexOf(tag) >= 0; });
      if (!tagOps.length) return;
      var meta = (doc.tags || []).filter(function (t) { return t.name === tag; })[0] || {};
      var group = h("div", { class: "nav-group" }, h("div", { class: "nav-title" }, tag));
      main.appendChild(h("section", { class: "section", id: "tag-" + slug(tag) }, h("h2", { class: "tag-title" }, tag), markdown(meta.description)));
      tagOps.forEach(function (o) {
        main.appendChild(renderOperation(o));
        group.appendChild(h("a", { class: "nav-link", href: "#" + opID(o), "data-op": opID(o) },
          h("span", { class: "method " + o.method }, o.method), h("span", null, o.op.summary || o.path)));
      });
      nav.appendChild(group);
    });

    var schemas = (doc.components && doc.components.schemas) || {};
    var schemaGroup = h("div", { class: "nav-group" }, h("div", { class: "nav-title" }, "Schemas"));
    main.appendChild(h("section", { class: "section", id: "schemas" }, h("h2", null, "Schemas"),
      markdown("The documents the API reads and writes, by name.")));
    Object.keys(schemas).forEach(function (name) {
      var s = flatten(schemas[name]);
      var block = h("div", { class: "schema-block", id: "schema-" + name },
        h("h3", null, name), h("div", { class: "field-type" }, typeLabel({ $ref: "#/components/schemas/" + name })),
        s.description ? markdown(s.description) : null);
      if (hasChildren(schemas[name])) block.appendChild(fields({ $ref: "#/components/schemas/" + name }));
      main.appendChild(block);
      schemaGroup.appendChild(h("a", { class: "nav-link", href: "#schema-" + name }, name));
    });
    nav.appendChild(schemaGroup);

    wireSearch();
    wireActive();
    if (location.hash) {
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  }

  function wireSearch() {
    var input = document.getElementById("search");
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      document.querySelectorAll(".op").forEach(function (el) {
        el.classList.toggle("hidden", q !== "" && el.getAttribute("data-search").indexOf(q) < 0);
      });
      document.querySelectorAll(".nav-link[data-op]").forEach(function (a) {
        var target = document.getElementById(a.getAttribute("data-op"));
        a.classList.toggle("hidden", target.classList.contains("hidden"));
      });
      document.querySelectorAll(".nav-group").forEach(function (g) {
        var links = g.querySelectorAll(".nav-link[data-op]");
        if (!links.length) return;
        var visible = Array.prototype.some.call(links, function (a) { return !a.classList.contains("hidden"); });
        g.classList.toggle("hidden", !visible);
      });
    });
  }

  function wireActive() {
    if (!("IntersectionObserver" in window)) return;
    var links = {};
    document.querySelectorAll(".nav-link[data-op]").forEach(function (a) { links[a.getAttribute("data-op")] = a; });
    var current = null;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (!e.isIntersecting) return;
        var a = links[e.target.id];
        if (!a || a === current) return;
        if (current) current.classList.remove("active");
        a.classList.add("active");
        current = a;
      });
    }, { rootMargin: "0px 0px -70% 0px" });
    document.querySelectorAll(".op").forEach(function (el) { observer.observe(el); });
  }

  fetch("/api/openapi.json", { headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    })
    .then(function (d) { doc = d; render(); })
    .catch(function (err) {
      var main = document.getElementById("main");
      main.textContent = "";
      main.appendChild(h("p", { class: "failed" }, "Could not load /api/openapi.json: " + err.message));
    });
})();
