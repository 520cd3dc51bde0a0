// Hippo passkeys: the only script, served as a file (CSP script-src 'self').
// Registration (/account/passkeys) and the login's second step
// (/login/second-factor): fetch a challenge, ask the authenticator, put
// its answer (JSON, binary fields base64url) into the form and submit it.
// Without this script the pages still work: delete, and the TOTP code.
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "===".slice((b64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  }

  function toB64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((b) => { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function challenge(url, form) {
    const body = new URLSearchParams({ csrf: form.elements.csrf.value });
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    if (!response.ok) throw new Error("challenge " + response.status);
    return (await response.json()).publicKey;
  }

  function showFailure(form) {
    const alert = form.querySelector(".error");
    alert.textContent = form.dataset.failed;
    alert.hidden = false;
  }

  async function register(form) {
    const options = await challenge("/account/passkeys/register/challenge", form);
    options.challenge = fromB64url(options.challenge);
    options.user.id = fromB64url(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    const answer = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        attestationObject: toB64url(credential.response.attestationObject),
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        transports: credential.response.getTransports ? credential.response.getTransports() : [],
      },
    };
    form.elements.credential.value = JSON.stringify(answer);
    form.submit();
  }

  async function login(form) {
    const options = await challenge("/login/passkey/challenge", form);
    options.challenge = fromB64url(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    const r = credential.response;
    const answer = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null,
      },
    };
    form.elements.credential.value = JSON.stringify(answer);
    form.submit();
  }

  function wire(id, ceremony, reveal) {
    const form = document.getElementById(id);
    if (!form || !window.PublicKeyCredential) return;
    reveal(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      ceremony(form).catch(() => showFailure(form));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire("passkey-register", register, (form) => {
      form.querySelector("button[type=submit]").hidden = false;
    });
    wire("passkey-login", login, (form) => { form.hidden = false; });
  });
})();
