// "Sync now" without a page reload: post the product's form with fetch() and show the answer
// beside the button. Without JavaScript the same form posts and the page reloads with a message.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-sync-now]");
  if (!form) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const output = form.querySelector("output");
  button.disabled = true;
  output.textContent = "Syncing…";
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const result = await response.json();
    output.innerHTML = result.html;
  } catch (error) {
    output.textContent = "Could not reach the server; please try again.";
  } finally {
    button.disabled = false;
  }
});
