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

  // DKFDS opens the mobile menu drawer by toggling a class on <body>; tell screen readers
  // whether the menu button's drawer is open.
  var openButton = document.querySelector(".js-menu-open");
  if (openButton && window.MutationObserver) {
    var sync = function () {
      var open = document.body.classList.contains("mobile-nav-active");
      openButton.setAttribute("aria-expanded", open ? "true" : "false");
    };
    new MutationObserver(sync).observe(document.body, {
      attributes: true,
      attributeFilter: ["class"],
    });
    sync();
  }

  // Before the idle limit ends the session (SESSION_IDLE_SECONDS), warn, so that nobody loses
  // a half-written note without knowing why. "Bliv logget ind" is a request like any other,
  // which the session limits count as activity; if the session has already ended, reloading
  // shows the login page and says why.
  var warning = document.getElementById("idle-warning");
  var form = document.getElementById("idle-warning-form");
  if (warning && form && window.fetch) {
    var idle = parseInt(warning.getAttribute("data-idle-seconds"), 10);
    var lead = Math.min(300, Math.floor(idle / 6));
    var timer = null;
    var arm = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        warning.hidden = false;
      }, Math.max(idle - lead, 1) * 1000);
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window
        .fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          redirect: "manual",
        })
        .then(function (response) {
          if (response.status === 204) {
            warning.hidden = true;
            arm();
          } else {
            window.location.reload();
          }
        })
        .catch(function () {
          window.location.reload();
        });
    });
    arm();
  }
})();
