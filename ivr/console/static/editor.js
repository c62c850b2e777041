// The menu editor: CodeMirror over the form's textarea (which still submits the draft), and a
// check on the server a moment after each change, shown as markers at the lines and as a list.
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  var textarea = document.getElementById("draft");
  var holder = document.getElementById("code");
  if (!form || !textarea || !holder || !window.CodeMirror) { return; }
  var CM = window.CodeMirror;
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var sequence = 0;
  var timer = null;

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function showProblems(result) {
    var box = document.getElementById("problems");
    box.replaceChildren();
    if (result.problems.length === 0) {
      box.appendChild(element("p", "No problems: the line could serve this draft."));
      return;
    }
    var summary = element("p");
    summary.appendChild(element("strong", result.errors + " error(s), " +
      (result.problems.length - result.errors) + " warning(s)."));
    if (result.errors) { summary.appendChild(document.createTextNode(" The line cannot serve a draft with errors.")); }
    box.appendChild(summary);
    var list = element("ul", undefined, "problems");
    result.problems.forEach(function (p) {
      var item = element("li", "Line " + p.line + ", column " + p.col + ": ", p.severity);
      item.appendChild(element("strong", p.severity));
      item.appendChild(document.createTextNode(": " + p.message));
      if (p.hint) { item.appendChild(document.createTextNode(" ")); item.appendChild(element("span", "Fix: " + p.hint, "fix")); }
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function showReplies(result) {
    var box = document.getElementById("replies");
    box.replaceChildren();
    if (result.replies.length === 0) {
      box.appendChild(element("p", "The text replies are counted once the draft has no errors."));
      return;
    }
    var table = element("table");
    var caption = element("caption", "Text replies and their message counts", "visually-hidden");
    table.appendChild(caption);
    var head = element("thead");
    var row = element("tr");
    ["Line", "Reply", "Language", "Characters", "Encoding", "Messages"].forEach(function (name) {
      var th = element("th", name);
      th.scope = "col";
      row.appendChild(th);
    });
    head.appendChild(row);
    table.appendChild(head);
    var body = element("tbody");
    result.replies.forEach(function (r) {
      var tr = element("tr");
      [r.line, r.source, r.language, r.characters, r.encoding, r.segments].forEach(function (value) {
        tr.appendChild(element("td", String(value)));
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    box.appendChild(table);
  }

  function diagnostics(doc, problems) {
    return problems.map(function (p) {
      var line = doc.line(Math.min(Math.max(p.line, 1), doc.lines));
      var from = Math.min(line.from + Math.max(p.col - 1, 0), line.to);
      return {from: from, to: Math.max(line.to, from), severity: p.severity === "error" ? "error" : "warning",
              message: p.message + (p.hint ? " Fix: " + p.hint : "")};
    });
  }

  function check(view) {
    var mine = ++sequence;
    var body = new FormData();
    body.append("draft", view.state.doc.toString());
    body.append("csrf_token", csrf);
    fetch(form.dataset.checkUrl, {method: "POST", body: body, credentials: "same-origin",
                                  headers: {"X-CSRFToken": csrf, "Accept": "application/json"}})
      .then(function (response) {
        if (response.ok) { return response.json(); }
        if (mine === sequence) {  // say so, rather than go on showing an older draft's result
          var box = document.getElementById("problems");
          box.replaceChildren(element("p", response.status === 413 ?
            "This draft is too large to check: a menu file is at most " + form.dataset.limitKib + " KiB." :
            "The draft could not be checked just now (the server answered " + response.status +
            "). Press Check, or sign in again if your session has ended."));
        }
        return null;
      })
      .then(function (result) {
        if (!result || mine !== sequence) { return; }  // a newer check is on its way
        view.dispatch(CM.setDiagnostics(view.state, diagnostics(view.state.doc, result.problems)));
        showProblems(result);
        showReplies(result);
        form.dataset.checked = String(mine);
      })
      .catch(function () { /* the list keeps the last result; the Check button still works */ });
  }

  var view = new CM.EditorView({
    parent: holder,
    state: CM.EditorState.create({
      doc: textarea.value,
      extensions: [
        CM.basicSetup, CM.yaml(), CM.lintGutter(),
        CM.EditorView.cspNonce.of(form.dataset.styleNonce || ""),
        // Tab is left to move the focus, so the editor never traps a keyboard user.
        CM.EditorView.contentAttributes.of({"aria-labelledby": "draft-label", "aria-multiline": "true"}),
        CM.EditorView.updateListener.of(function (update) {
          if (!update.docChanged) { return; }
          textarea.value = update.state.doc.toString();
          clearTimeout(timer);
          timer = setTimeout(function () { check(update.view); }, 400);
        })
      ]
    })
  });
  textarea.hidden = true;
  holder.hidden = false;
  check(view);
})();
