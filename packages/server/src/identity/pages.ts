/**
 * The sign-in pages (login, second factor, TOTP enrolment, consent with the patient picker):
 * plain server-rendered HTML with labelled fields, one heading per page and no script, so they
 * work with a screen reader and without JavaScript. Every form carries a CSRF token.
 */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Concordia</title>
<style>
body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:1rem;font-weight:600}
input[type=text],input[type=password],select{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1.25rem;padding:.5rem 1.25rem;font-size:1rem}
.error{color:#a00;border-left:4px solid #a00;padding-left:.75rem}
code{word-break:break-all}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function errorBlock(error: string | undefined): string {
  return error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>\n`;
}

function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}

export function renderLoginPage(options: {
  action: string;
  csrf: string;
  clientName: string;
  error?: string;
  username?: string;
}): string {
  return page(
    'Sign in',
    `<p>${escapeHtml(options.clientName)} asks you to sign in to Concordia.</p>
${errorBlock(options.error)}<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrf)}
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function renderMfaPage(options: { action: string; csrf: string; error?: string }): string {
  return page(
    'Enter your one-time code',
    `<p>Open your authenticator app and enter the 6-digit code for Concordia.</p>
${errorBlock(options.error)}<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrf)}
<label for="code">One-time code</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required autofocus>
<button type="submit">Continue</button>
</form>`,
  );
}

export function renderEnrolPage(options: {
  action: string;
  csrf: string;
  secret: string;
  uri: string;
  error?: string;
}): string {
  return page(
    'Set up your second factor',
    `<p>Your role requires a second factor. Add Concordia to an authenticator app (RFC 6238 TOTP) with this key, then enter the code it shows.</p>
<p>Key: <code>${escapeHtml(options.secret)}</code></p>
<p>Or open this link on the device with the app: <a href="${escapeHtml(options.uri)}">add to authenticator</a></p>
${errorBlock(options.error)}<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrf)}
<label for="code">One-time code</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required autofocus>
<button type="submit">Finish set-up</button>
</form>`,
  );
}

export interface PatientChoice {
  id: string;
  name: string;
}

export function renderConsentPage(options: {
  action: string;
  csrf: string;
  clientName: string;
  scopes: string[];
  patients?: PatientChoice[];
  error?: string;
}): string {
  const scopes = options.scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code></li>`).join('\n');
  const picker =
    options.patients === undefined
      ? ''
      : `<label for="patient">Patient</label>
<select id="patient" name="patient" required>
<option value="">Choose the patient</option>
${options.patients.map((p) => `<option value="${escapeHtml(p.id)}">${escapeHtml(p.name)} (${escapeHtml(p.id)})</option>`).join('\n')}
</select>`;
  return page(
    'Allow access?',
    `<p><strong>${escapeHtml(options.clientName)}</strong> asks for:</p>
<ul>
${scopes}
</ul>
${errorBlock(options.error)}<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrf)}
${picker}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

export function renderErrorPage(error: string, description?: string): string {
  return page('Sign-in failed', `<p class="error" role="alert">${escapeHtml(description ?? error)}</p>`);
}
