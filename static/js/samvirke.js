// Kept in a file of its own: the Content-Security-Policy allows no inline script.
if (window.DKFDS) {
  window.DKFDS.init();
}
(function () {
  // Move focus to the error summary so a screen reader announces the errors at once.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
