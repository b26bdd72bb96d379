/* The log-call form shows the sections the chosen outcome needs (all show without JavaScript).
   Delegated on document, so it keeps working after htmx swaps the form. */
(function () {
  "use strict";
  function refresh(form) {
    if (!form) return;
    var outcome = form.querySelector("[name=outcome]").value;
    var kindInput = form.querySelector("[name=agreement_kind]:checked");
    var kind = kindInput ? kindInput.value : "";
    form.querySelectorAll("[data-when-outcome]").forEach(function (section) {
      var wanted = section.getAttribute("data-when-outcome").split(" ");
      var keep = section.querySelector(".has-error") || (section.querySelector("[name=agreement_kind]") && kind);
      section.hidden = !(wanted.indexOf(outcome) >= 0 || keep);
    });
    form.querySelectorAll("[data-when-kind]").forEach(function (part) {
      part.hidden = part.getAttribute("data-when-kind") !== kind;
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-call-form]");
    if (form && event.target.name === "outcome" && event.target.value === "promise" &&
        !form.querySelector("[name=agreement_kind]:checked:not([value=''])")) {
      form.querySelector("[name=agreement_kind][value=promise]").checked = true;
    }
    refresh(form);
  });
  /* "Cancel" on a new contact's form: remove the form (no inline handlers: the CSP refuses them). */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-closest]");
    if (button) {
      var gone = button.closest(button.getAttribute("data-remove-closest"));
      if (gone) gone.remove();
    }
  });
  function refreshAll() { document.querySelectorAll("[data-call-form]").forEach(refresh); }
  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
})();
