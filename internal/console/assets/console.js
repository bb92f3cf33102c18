// The console's only script of its own: copy buttons. A button with
// data-copy="#id" copies that element's text to the clipboard.
document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.querySelector(b.getAttribute("data-copy"));
  if (!el) return;
  var text = el.textContent.trim();
  var done = function () { b.textContent = "Copied"; };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(done, function () { b.textContent = "Select it and copy"; });
  } else {
    b.textContent = "Select it and copy";
  }
});
