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

/** A page of the patient picker (patient-picker.ts) and how to reach the others. */
export interface PatientPickerView {
  kind: 'patient';
  choices: PatientChoice[];
  /** The name typed in the filter box. */
  name?: string;
  /** GET URL of this picker's next page, or of its first page when this is a later one. */
  nextUrl?: string;
  firstUrl?: string;
  /** The URL the filter box submits to (the interaction page itself). */
  searchUrl: string;
}

/** The encounter picker of a standalone `launch/encounter`, for the patient already chosen. */
export interface EncounterPickerView {
  kind: 'encounter';
  patient: PatientChoice;
  choices: PatientChoice[];
  nextUrl?: string;
  firstUrl?: string;
  /** Back to the patient picker; absent when the patient is fixed (EHR launch, own record). */
  patientsUrl?: string;
}

export function renderConsentPage(options: {
  action: string;
  csrf: string;
  clientName: string;
  scopes: string[];
  picker?: PatientPickerView | EncounterPickerView;
  /** The next step chooses the encounter: the button continues instead of allowing. */
  continues?: boolean;
  error?: string;
}): string {
  const { picker } = options;
  const scopes = options.scopes.map((scope) => `<li><code>${escapeHtml(scope)}</code></li>`).join('\n');
  const search = picker?.kind === 'patient' ? patientSearch(picker) : '';
  const fields =
    picker === undefined ? '' : picker.kind === 'patient' ? patientSelect(picker) : encounterSelect(picker);
  const allow = options.continues === true ? 'Continue' : 'Allow';
  return page(
    'Allow access?',
    `<p><strong>${escapeHtml(options.clientName)}</strong> asks for:</p>
<ul>
${scopes}
</ul>
${errorBlock(options.error)}${search}<form method="post" action="${escapeHtml(options.action)}">
${csrfField(options.csrf)}
${fields}
<button type="submit" name="decision" value="allow">${allow}</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

function patientSearch(picker: PatientPickerView): string {
  return `<form method="get" action="${escapeHtml(picker.searchUrl)}" role="search">
<label for="name">Search by name</label>
<input type="text" id="name" name="name" value="${escapeHtml(picker.name ?? '')}">
<button type="submit">Search</button>
</form>
`;
}

function patientSelect(picker: PatientPickerView): string {
  if (picker.choices.length === 0) {
    const which =
      picker.name === undefined || picker.name === '' ? '' : ` named “${escapeHtml(picker.name)}”`;
    return `<p role="status">No patients${which} whose records you may open.</p>${pagingLinks(picker, 'patients')}`;
  }
  return `<label for="patient">Patient</label>
<select id="patient" name="patient" required>
<option value="">Choose the patient</option>
${options(picker.choices)}
</select>${pagingLinks(picker, 'patients')}`;
}

function encounterSelect(picker: EncounterPickerView): string {
  const another =
    picker.patientsUrl === undefined
      ? ''
      : ` — <a href="${escapeHtml(picker.patientsUrl)}">choose another patient</a>`;
  const patient = `<p>Patient: <strong>${escapeHtml(picker.patient.name)}</strong> (${escapeHtml(picker.patient.id)})${another}</p>
<input type="hidden" name="patient" value="${escapeHtml(picker.patient.id)}">`;
  if (picker.choices.length === 0) {
    return `${patient}
<p role="status">This patient has no encounters you may open, and the app needs one.</p>${pagingLinks(picker, 'encounters')}`;
  }
  return `${patient}
<label for="encounter">Encounter</label>
<select id="encounter" name="encounter" required>
<option value="">Choose the encounter</option>
${options(picker.choices)}
</select>${pagingLinks(picker, 'encounters')}`;
}

function options(choices: PatientChoice[]): string {
  return choices
    .map((c) => `<option value="${escapeHtml(c.id)}">${escapeHtml(c.name)} (${escapeHtml(c.id)})</option>`)
    .join('\n');
}

function pagingLinks(links: { nextUrl?: string; firstUrl?: string }, what: string): string {
  const items = [
    links.firstUrl === undefined ? '' : `<a href="${escapeHtml(links.firstUrl)}">First ${what}</a>`,
    links.nextUrl === undefined ? '' : `<a href="${escapeHtml(links.nextUrl)}">More ${what}</a>`,
  ].filter((item) => item !== '');
  return items.length === 0 ? '' : `\n<nav aria-label="More ${what}"><p>${items.join(' · ')}</p></nav>`;
}

export function renderErrorPage(error: string, description?: string): string {
  return page('Sign-in failed', `<p class="error" role="alert">${escapeHtml(description ?? error)}</p>`);
}
