// Starts the design system's components (accordions, menus, modals, ...)
// once the page is parsed. Deferred scripts run in document order, so
// dkfds.min.js and htmx.min.js have run before this file.
//
// Content htmx swaps in later gets the components that work within a part
// of the page; the global ones (navigation, back-to-top) are set up once.
(function () {
  "use strict";

  var DKFDS = window.DKFDS;
  if (!DKFDS) {
    return;
  }
  DKFDS.init();

  function each(scope, selector, start) {
    var found = scope.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) {
      start(found[i]);
    }
  }

  function initFragment(scope) {
    each(scope, ".accordion, .accordion-bordered", function (el) { new DKFDS.Accordion(el).init(); });
    each(scope, ".alert.has-close", function (el) { new DKFDS.Alert(el).init(); });
    each(scope, ".form-limit", function (el) { new DKFDS.CharacterLimit(el).init(); });
    each(scope, ".js-checkbox-toggle-content", function (el) { new DKFDS.CheckboxToggleContent(el).init(); });
    each(scope, ".js-radio-toggle-group", function (el) { new DKFDS.RadioToggleGroup(el).init(); });
    each(scope, ".js-dropdown", function (el) { new DKFDS.Dropdown(el).init(); });
    each(scope, ".fds-modal", function (el) { new DKFDS.Modal(el).init(); });
    each(scope, "div.tab-container", function (el) { new DKFDS.Tabs(el).init(); });
    each(scope, ".tooltip-wrapper", function (el) { new DKFDS.Tooltip(el).init(); });
    each(scope, '[data-module="error-summary"]', function (el) { new DKFDS.ErrorSummary(el).init(); });
    if (DKFDS.datePicker) {
      DKFDS.datePicker.on(scope);
    }
  }

  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    // htmx also fires htmx:load for the body on start-up; DKFDS.init
    // above has handled that.
    if (elt && elt !== document.body && elt.querySelectorAll) {
      initFragment(elt);
    }
  });
})();
