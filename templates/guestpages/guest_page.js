(function () {
  "use strict";
  var drop = document.getElementById("photo-drop");
  if (!drop || !window.fetch || !window.FormData) { return; }
  var input = document.getElementById("photo-input");
  var list = document.getElementById("photo-files");
  var notice = document.getElementById("photo-notice");
  var presignUrl = drop.getAttribute("data-presign-url");
  var confirmUrl = drop.getAttribute("data-confirm-url");
  drop.hidden = false;
  document.getElementById("photo-nojs").hidden = true;

  function say(el, text, cls) { el.textContent = text; el.className = cls || ""; }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", mode: "cors", credentials: "omit",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.error || ("The server said " + r.status + ".")); }
        return data;
      });
    });
  }

  // A dropped connection (weak signal on the dock) is retried twice with the same grant.
  function send(grant, file, bar, state, tries) {
    tries = tries || 0;
    return sendOnce(grant, file, bar).catch(function (err) {
      if (!err.retry || tries >= 2) { throw err; }
      say(state, "Connection lost, retrying…");
      return new Promise(function (r) { setTimeout(r, 2000 * (tries + 1)); })
        .then(function () { return send(grant, file, bar, state, tries + 1); });
    });
  }

  function sendOnce(grant, file, bar) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(grant.fields || {}).forEach(function (k) { form.append(k, grant.fields[k]); });
      form.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", grant.url);
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = e.loaded / e.total; } };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { bar.value = 1; resolve(); }
        else { reject(new Error("The upload was refused (" + xhr.status + ").")); }
      };
      xhr.onerror = function () {
        var err = new Error("The connection dropped. Please try again.");
        err.retry = true;
        reject(err);
      };
      xhr.send(form);
    });
  }

  function upload(file) {
    var item = document.createElement("li");
    var name = document.createElement("div");
    var bar = document.createElement("progress");
    var state = document.createElement("div");
    name.textContent = file.name;
    bar.max = 1; bar.value = 0;
    item.appendChild(name); item.appendChild(bar); item.appendChild(state);
    list.appendChild(item);
    say(state, "Uploading…");
    return postJson(presignUrl, {filename: file.name, content_type: file.type || "application/octet-stream", size: file.size})
      .then(function (grant) {
        return send(grant, file, bar, state).then(function () { return postJson(confirmUrl, {key: grant.key}); });
      })
      .then(function () { say(state, "Uploaded. Thank you!", "ok"); item.setAttribute("data-state", "done"); })
      .catch(function (err) { say(state, err.message, "bad"); item.setAttribute("data-state", "failed"); });
  }

  input.addEventListener("change", function () {
    var files = Array.prototype.slice.call(input.files || []);
    say(notice, "");
    files.reduce(function (p, f) { return p.then(function () { return upload(f); }); }, Promise.resolve())
      .then(function () { input.value = ""; });
  });
})();
