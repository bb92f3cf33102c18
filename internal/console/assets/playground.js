// The Playground page (templates/playground.html): a chat with the
// gateway's models through /v1, same-origin, with an API key the user
// types. The key lives only in the password field and this closure's
// requests: never in a cookie or any web storage. Each answer
// streams (stream: true, read with a ReadableStream reader) and ends with
// its tokens, cost (the final chunk's usage.cost), latency and time to
// first token.
(function () {
  "use strict";

  function fmtInt(n) { return Number(n).toLocaleString("en-US"); }
  function fmtUSD(v) {
    var n = Number(v);
    return "$" + n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: n !== 0 && Math.abs(n) < 0.01 ? 8 : 4 });
  }
  function fmtMs(v) { return fmtInt(Math.round(v)) + " ms"; }

  // errorText is the message of an OpenAI error envelope, else the status.
  function errorText(status, body) {
    try {
      var j = JSON.parse(body);
      if (j && j.error && j.error.message) return j.error.message + " (" + status + ")";
    } catch (e) { /* not JSON */ }
    return "The gateway answered " + status + (body ? ": " + body.slice(0, 200) : "");
  }

  function init(root) {
    var box = root.querySelector ? root.querySelector("#playground") : null;
    if (!box && root.id === "playground") box = root;
    if (!box || box.hasAttribute("data-ready")) return;
    box.setAttribute("data-ready", "");

    var keyEl = box.querySelector("#pg-key");
    var modelEl = box.querySelector("#pg-model");
    var systemEl = box.querySelector("#pg-system");
    var errEl = box.querySelector("#pg-error");
    var logEl = box.querySelector("#pg-log");
    var inputEl = box.querySelector("#pg-input");
    var sendEl = box.querySelector("#pg-send");
    var stopEl = box.querySelector("#pg-stop");
    var history = []; // {role, content}, the conversation so far
    var controller = null;

    function showError(msg) {
      errEl.textContent = msg;
      errEl.hidden = !msg;
    }
    function headers() {
      return { "Authorization": "Bearer " + keyEl.value.trim(), "Content-Type": "application/json" };
    }

    function loadModels(e) {
      if (e) e.preventDefault();
      showError("");
      if (!keyEl.value.trim()) { showError("Enter an API key first."); keyEl.focus(); return; }
      fetch("/v1/models", { headers: headers(), credentials: "omit", cache: "no-store" }).then(function (res) {
        return res.text().then(function (body) {
          if (!res.ok) throw new Error(errorText(res.status, body));
          return JSON.parse(body);
        });
      }).then(function (list) {
        var ids = (list.data || []).map(function (m) { return m.id; }).sort();
        var keep = modelEl.value;
        modelEl.textContent = "";
        ids.forEach(function (id) {
          var o = document.createElement("option");
          o.value = id;
          o.textContent = id;
          modelEl.appendChild(o);
        });
        if (ids.length === 0) {
          var o = document.createElement("option");
          o.value = "";
          o.textContent = "This key may use no model";
          modelEl.appendChild(o);
        }
        if (keep && ids.indexOf(keep) >= 0) modelEl.value = keep;
        modelEl.disabled = ids.length === 0;
        box.setAttribute("data-models", String(ids.length));
      }).catch(function (err) { showError("Loading models failed: " + err.message); });
    }

    function entry(role, text) {
      var li = document.createElement("li");
      li.className = "pg-msg pg-" + role;
      var who = document.createElement("div");
      who.className = "pg-who";
      who.textContent = role === "user" ? "You" : (modelEl.value || "Assistant");
      var body = document.createElement("div");
      body.className = "pg-text";
      body.textContent = text;
      li.appendChild(who);
      li.appendChild(body);
      logEl.appendChild(li);
      return li;
    }

    function busy(on) {
      sendEl.disabled = on;
      stopEl.disabled = !on;
      box.toggleAttribute("data-busy", on);
    }

    // readSSE calls onData with each event's data until the stream ends.
    function readSSE(body, onData) {
      var reader = body.getReader();
      var decoder = new TextDecoder();
      var buf = "";
      function pump() {
        return reader.read().then(function (r) {
          if (r.done) { buf += decoder.decode(); flush(true); return; }
          buf += decoder.decode(r.value, { stream: true });
          flush(false);
          return pump();
        });
      }
      function flush(end) {
        buf = buf.replace(/\r\n/g, "\n");
        var i;
        while ((i = buf.indexOf("\n\n")) >= 0 || (end && buf.length)) {
          var ev = i >= 0 ? buf.slice(0, i) : buf;
          buf = i >= 0 ? buf.slice(i + 2) : "";
          var data = ev.split("\n").filter(function (l) { return l.indexOf("data:") === 0; })
            .map(function (l) { return l.slice(5).replace(/^ /, ""); }).join("\n");
          if (data) onData(data);
        }
      }
      return pump();
    }

    function send(e) {
      if (e) e.preventDefault();
      if (controller) return;
      var text = inputEl.value;
      if (!text.trim()) { inputEl.focus(); return; }
      if (!keyEl.value.trim()) { showError("Enter an API key first."); keyEl.focus(); return; }
      if (!modelEl.value) { showError("Load the models and pick one first."); return; }
      showError("");
      var msgs = [];
      if (systemEl.value.trim()) msgs.push({ role: "system", content: systemEl.value });
      var turn = { role: "user", content: text };
      msgs = msgs.concat(history, [turn]);
      entry("user", text);
      inputEl.value = "";
      var li = entry("assistant", "");
      li.classList.add("pg-streaming");
      var out = li.querySelector(".pg-text");
      var stats = document.createElement("div");
      stats.className = "pg-stats hint";
      li.appendChild(stats);
      var answer = "", usage = null, firstAt = 0, streamErr = "";
      var t0 = performance.now();
      controller = new AbortController();
      busy(true);
      fetch("/v1/chat/completions", {
        method: "POST", headers: headers(), credentials: "omit", cache: "no-store", signal: controller.signal,
        body: JSON.stringify({ model: modelEl.value, messages: msgs, stream: true, stream_options: { include_usage: true } }),
      }).then(function (res) {
        if (!res.ok) return res.text().then(function (body) { throw new Error(errorText(res.status, body)); });
        return readSSE(res.body, function (data) {
          if (data === "[DONE]") return;
          var j;
          try { j = JSON.parse(data); } catch (x) { return; }
          if (j.error) { streamErr = j.error.message || "the stream ended with an error"; return; }
          if (j.usage) usage = j.usage;
          var c = j.choices && j.choices[0];
          var piece = c && c.delta && typeof c.delta.content === "string" ? c.delta.content : "";
          if (piece) {
            if (!firstAt) firstAt = performance.now();
            answer += piece;
            out.textContent = answer;
          }
        });
      }).then(function () {
        if (streamErr) throw new Error(streamErr);
        history.push(turn, { role: "assistant", content: answer });
        finish("");
      }).catch(function (err) {
        if (err && err.name === "AbortError") {
          // Keep what came before Stop as the answer of this turn.
          history.push(turn, { role: "assistant", content: answer });
          finish("Stopped.");
          return;
        }
        li.classList.add("pg-failed");
        finish("");
        showError(err.message);
      });

      function finish(note) {
        var total = performance.now() - t0;
        var parts = [];
        if (usage) {
          parts.push(fmtInt(usage.prompt_tokens || 0) + " prompt + " + fmtInt(usage.completion_tokens || 0) + " completion tokens");
          if (usage.cost != null) parts.push(fmtUSD(usage.cost));
        }
        parts.push("latency " + fmtMs(total));
        if (firstAt) parts.push("first token " + fmtMs(firstAt - t0));
        if (note) parts.push(note);
        stats.textContent = parts.join(" · ");
        li.classList.remove("pg-streaming");
        li.setAttribute("data-done", "");
        controller = null;
        busy(false);
        inputEl.focus();
      }
    }

    box.querySelector("#pg-setup").addEventListener("submit", loadModels);
    box.querySelector("#pg-compose").addEventListener("submit", send);
    inputEl.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
    });
    stopEl.addEventListener("click", function () { if (controller) controller.abort(); });
    box.querySelector("#pg-clear").addEventListener("click", function () {
      if (controller) controller.abort();
      history = [];
      logEl.textContent = "";
      showError("");
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(init);
  } else {
    document.addEventListener("DOMContentLoaded", function () { init(document.body); });
  }
})();
