// Copy buttons for the SSO values staff send the customer (the admin's CSP allows only our own scripts).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      field.select();
      if (!navigator.clipboard) { button.textContent = "Press Ctrl+C"; return; }
      navigator.clipboard.writeText(field.value).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Press Ctrl+C"; }
      );
    });
  });
});
