/* Fields marked data-select-on-focus select their whole text when focused (e.g. the API token to copy).
   A file, not an onfocus attribute: the Content-Security-Policy refuses inline handlers. */
document.addEventListener("focusin", function (event) {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
});
