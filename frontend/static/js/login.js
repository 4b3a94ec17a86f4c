// The sign-in form (issue 14): a failed sign-in keeps the user name typed. The browser keeps it
// for this tab, so that the server's answer stays the same for every name (AUTH-6).

const KEY = "halyq:login-name";
const name = document.getElementById("login-name");
const password = document.getElementById("login-password");
const failed = document.querySelector(".login-message");

function remembered() {
  try {
    return sessionStorage.getItem(KEY) ?? "";
  } catch {
    return ""; // storage disabled: the name is typed again
  }
}

function remember(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // not kept this time
  }
}

if (failed && !name.value && remembered()) {
  name.value = remembered();
  password.focus();
} else if (!failed) {
  remember("");
}
name.form.addEventListener("submit", () => remember(name.value));
