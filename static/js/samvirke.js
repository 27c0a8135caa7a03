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
})();
