/**
 * The pages oidc-provider sends a browser to (its "interactions"): sign in with a password, then
 * the second factor (or its enrolment) for roles that require one, then consent — with the
 * patient picker when the app asks for `launch/patient`, then the encounter picker when it asks for
 * `launch/encounter` (launch-pickers.ts), both showing only what the user may read.
 *
 * CSRF: every form carries an HMAC of the interaction id, and the interaction itself is bound to
 * a SameSite=Lax cookie that a cross-site POST does not carry; either alone stops a forged post.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';
import { requiresMfa } from '../access/roles.ts';
import { parseResourceScope } from '../access/smart-scopes.ts';
import type { SignInAttempt, SignInAudit } from '../audit/sign-in-audit.ts';
import { OAUTH_PREFIX } from './authorization-server.ts';
import type { EhrLaunch, LaunchContexts } from './launch-context.ts';
import {
  chosenContext,
  contextNeeds,
  type PickerParams,
  pickerParams,
  pickerStep,
} from './launch-pickers.ts';
import { launchReader, ownPatient } from './launch-reader.ts';
import type { LoginChallenges } from './login-challenges.ts';
import {
  renderConsentPage,
  renderEnrolPage,
  renderErrorPage,
  renderLoginPage,
  renderMfaPage,
} from './pages.ts';
import type { PatientDirectory } from './patient-picker.ts';
import type { SecretBox } from './secret-box.ts';
import { newTotpSecret, totpUri } from './totp.ts';
import type { User, UserDirectory } from './users.ts';

export interface InteractionRoutesOptions {
  provider: Provider;
  users: UserDirectory;
  launchContexts: LaunchContexts;
  challenges: LoginChallenges;
  patients: PatientDirectory;
  box: SecretBox;
  /** Records every sign-in step, success or failure (audit/sign-in-audit.ts); absent: not audited. */
  signIns?: SignInAudit;
}

type Form = Record<string, string>;

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

const LAUNCH_GONE = 'This launch has expired or is not yours; start the app again from your EHR.';

const SIGN_IN_FAILED = 'The user name or password is wrong, or the account is locked or disabled.';

export async function interactionRoutes(
  app: FastifyInstance,
  options: InteractionRoutesOptions,
): Promise<void> {
  const { provider, users, challenges, box } = options;
  const csrfKey = box.derive('csrf');
  const csrfFor = (uid: string) => createHmac('sha256', csrfKey).update(uid).digest('base64url');

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_r, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      done(null, Object.fromEntries(new URLSearchParams(text)));
    },
  );
  // The app each interaction returns to, by request: see `formTargets`.
  const returnsTo = new WeakMap<FastifyRequest, string>();
  app.addHook('onSend', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; form-action ${formTargets(returnsTo.get(request))}; frame-ancestors 'none'`,
    );
  });

  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).header('content-type', 'text/html; charset=utf-8').send(body);

  /** The interaction of this request, or an answered error page when it is unknown or expired. */
  async function interactionOf(request: FastifyRequest, reply: FastifyReply): Promise<Details | undefined> {
    try {
      const details = await provider.interactionDetails(request.raw, reply.raw);
      const uid = paramUid(request);
      if (details.uid !== uid) throw new Error('interaction mismatch');
      const redirectUri = details.params.redirect_uri;
      if (typeof redirectUri === 'string') returnsTo.set(request, redirectUri);
      return details;
    } catch {
      html(
        reply,
        renderErrorPage(
          'invalid_request',
          'This sign-in has expired or is not yours; start again from the app.',
        ),
        400,
      );
      return undefined;
    }
  }

  function checkCsrf(request: FastifyRequest, reply: FastifyReply, uid: string): Form | undefined {
    const form = formOf(request);
    const expected = Buffer.from(csrfFor(uid));
    const given = Buffer.from(form.csrf ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      html(reply, renderErrorPage('invalid_request', 'The form has expired; start again from the app.'), 403);
      return undefined;
    }
    return form;
  }

  const action = (uid: string, step: string) => `${OAUTH_PREFIX}/interaction/${uid}/${step}`;

  /** The audit of a sign-in step; the answer waits for it (a step that cannot be recorded fails). */
  const audited = (request: FastifyRequest, attempt: SignInAttempt, details: Details): Promise<void> => {
    const userAgent = request.headers['user-agent'];
    return (
      options.signIns?.record({
        ...attempt,
        clientId: String(details.params.client_id ?? ''),
        sourceIp: request.ip,
        ...(userAgent !== undefined ? { userAgent } : {}),
      }) ?? Promise.resolve()
    );
  };
  const claimed = (user: User) => ({
    id: user.id,
    roles: user.roles,
    ...(user.fhirUser !== undefined ? { fhirUser: user.fhirUser } : {}),
  });

  async function clientName(details: Details): Promise<string> {
    const clientId = String(details.params.client_id ?? '');
    const client = await provider.Client.find(clientId);
    return client?.clientName ?? clientId;
  }

  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    result: Parameters<Provider['interactionFinished']>[2],
  ) {
    reply.hijack();
    await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: true });
  }

  /**
   * The EHR launch named by the authorization request (`launch`), if any. oidc-provider checked
   * it when the request came in (authorization-server.ts); it is read again because it may have
   * expired since. `undefined`: no EHR launch; `null`: one that is gone or not for this user.
   */
  async function ehrLaunchOf(details: Details, user: User): Promise<EhrLaunch | undefined | null> {
    const launch = details.params.launch;
    if (typeof launch !== 'string') return undefined;
    const found = await options.launchContexts.ehrLaunch(launch);
    if (found === undefined || (found.userId !== undefined && found.userId !== user.id)) return null;
    // A patient signs in for their own record only, whatever the launch says.
    const own = user.fhirUser?.startsWith('Patient/') ? user.fhirUser.slice('Patient/'.length) : undefined;
    if (own !== undefined && found.patient !== undefined && found.patient !== own) return null;
    return found;
  }

  /** The signed-in user of a consent step, reading as themselves through the app (launch-reader.ts). */
  const readerOf = (request: FastifyRequest, details: Details, user: User) => {
    const userAgent = request.headers['user-agent'];
    return launchReader(user, String(details.params.client_id ?? ''), {
      requestId: String(request.id),
      sourceIp: request.ip,
      ...(userAgent !== undefined ? { userAgent } : {}),
    });
  };

  async function consentPage(
    request: FastifyRequest,
    details: Details,
    reply: FastifyReply,
    params: PickerParams = {},
    error?: string,
  ) {
    const user = await users.byId(String(details.session?.accountId ?? ''));
    const scopes = user === undefined ? [] : consentScopes(details, user);
    const launched = user === undefined ? undefined : await ehrLaunchOf(details, user);
    if (launched === null) return html(reply, renderErrorPage('invalid_request', LAUNCH_GONE), 400);
    const step =
      user === undefined
        ? {}
        : await pickerStep(options.patients, readerOf(request, details, user), {
            needs: contextNeeds(String(details.params.scope ?? ''), user, launched),
            fixedPatient: launched?.patient ?? ownPatient(user),
            pageUrl: `${OAUTH_PREFIX}/interaction/${details.uid}`,
            params,
          });
    return html(
      reply,
      renderConsentPage({
        action: action(details.uid, 'consent'),
        csrf: csrfFor(details.uid),
        clientName: await clientName(details),
        scopes,
        ...step,
        ...(error !== undefined ? { error } : {}),
      }),
      error === undefined ? 200 : 400,
    );
  }

  app.get(`${OAUTH_PREFIX}/interaction/:uid`, async (request, reply) => {
    const details = await interactionOf(request, reply);
    if (details === undefined) return reply;
    if (details.prompt.name === 'login') {
      return html(
        reply,
        renderLoginPage({
          action: action(details.uid, 'login'),
          csrf: csrfFor(details.uid),
          clientName: await clientName(details),
        }),
      );
    }
    return consentPage(request, details, reply, pickerParams(request.query));
  });

  app.post(`${OAUTH_PREFIX}/interaction/:uid/login`, async (request, reply) => {
    const details = await interactionOf(request, reply);
    if (details === undefined) return reply;
    const form = checkCsrf(request, reply, details.uid);
    if (form === undefined) return reply;
    const username = (form.username ?? '').trim().toLowerCase();
    const check = await users.checkPassword(username, form.password ?? '');
    await audited(
      request,
      check.ok
        ? { step: 'password', succeeded: true, user: claimed(check.user) }
        : {
            step: 'password',
            succeeded: false,
            user: { id: username },
            reason: `password sign-in refused: ${check.reason}`,
          },
      details,
    );
    if (!check.ok) {
      const page = renderLoginPage({
        action: action(details.uid, 'login'),
        csrf: csrfFor(details.uid),
        clientName: await clientName(details),
        error: SIGN_IN_FAILED,
        username,
      });
      return html(reply, page, 401);
    }
    const { user } = check;
    if (user.mfaEnrolled) {
      await challenges.save(details.uid, { accountId: user.id });
      return html(reply, renderMfaPage({ action: action(details.uid, 'mfa'), csrf: csrfFor(details.uid) }));
    }
    if (requiresMfa(user.roles)) {
      const secret = newTotpSecret();
      await challenges.save(details.uid, { accountId: user.id, enrolSecret: secret });
      return html(
        reply,
        renderEnrolPage({
          action: action(details.uid, 'enrol'),
          csrf: csrfFor(details.uid),
          secret,
          uri: totpUri(secret, user.username),
        }),
      );
    }
    return finish(request, reply, { login: { accountId: user.id, amr: ['pwd'] } });
  });

  app.post(`${OAUTH_PREFIX}/interaction/:uid/mfa`, async (request, reply) => {
    const details = await interactionOf(request, reply);
    if (details === undefined) return reply;
    const form = checkCsrf(request, reply, details.uid);
    if (form === undefined) return reply;
    const challenge = await challenges.find(details.uid);
    if (challenge === undefined || challenge.enrolSecret !== undefined) {
      return html(reply, renderErrorPage('invalid_request', 'Sign in with your password first.'), 400);
    }
    const mfaValid = await users.checkMfa(challenge.accountId, (form.code ?? '').trim());
    const mfaUser = await users.byId(challenge.accountId);
    await audited(
      request,
      {
        step: 'totp',
        succeeded: mfaValid,
        user: mfaUser === undefined ? { id: challenge.accountId } : claimed(mfaUser),
        ...(mfaValid ? {} : { reason: 'second factor (TOTP) code refused' }),
      },
      details,
    );
    if (!mfaValid) {
      return html(
        reply,
        renderMfaPage({
          action: action(details.uid, 'mfa'),
          csrf: csrfFor(details.uid),
          error: 'That code is not valid.',
        }),
        401,
      );
    }
    await challenges.delete(details.uid);
    return finish(request, reply, { login: { accountId: challenge.accountId, amr: ['pwd', 'otp'] } });
  });

  app.post(`${OAUTH_PREFIX}/interaction/:uid/enrol`, async (request, reply) => {
    const details = await interactionOf(request, reply);
    if (details === undefined) return reply;
    const form = checkCsrf(request, reply, details.uid);
    if (form === undefined) return reply;
    const challenge = await challenges.find(details.uid);
    if (challenge?.enrolSecret === undefined) {
      return html(reply, renderErrorPage('invalid_request', 'Sign in with your password first.'), 400);
    }
    const user = await users.byId(challenge.accountId);
    const enrolled =
      user !== undefined && (await users.enrolMfa(user.id, challenge.enrolSecret, (form.code ?? '').trim()));
    await audited(
      request,
      {
        step: 'totp-enrolment',
        succeeded: enrolled,
        user: user === undefined ? { id: challenge.accountId } : claimed(user),
        ...(enrolled ? {} : { reason: 'second factor (TOTP) enrolment code refused' }),
      },
      details,
    );
    if (user === undefined || !enrolled) {
      const secret = challenge.enrolSecret;
      const page = renderEnrolPage({
        action: action(details.uid, 'enrol'),
        csrf: csrfFor(details.uid),
        secret,
        uri: totpUri(secret, user?.username ?? ''),
        error: 'That code is not valid.',
      });
      return html(reply, page, 401);
    }
    await challenges.delete(details.uid);
    return finish(request, reply, { login: { accountId: user.id, amr: ['pwd', 'otp'] } });
  });

  app.post(`${OAUTH_PREFIX}/interaction/:uid/consent`, async (request, reply) => {
    const details = await interactionOf(request, reply);
    if (details === undefined) return reply;
    const form = checkCsrf(request, reply, details.uid);
    if (form === undefined) return reply;
    if (details.prompt.name !== 'consent')
      return html(reply, renderErrorPage('invalid_request', 'Sign in first.'), 400);
    if (form.decision !== 'allow') {
      return finish(request, reply, {
        error: 'access_denied',
        error_description: 'The user did not allow access',
      });
    }
    const accountId = String(details.session?.accountId ?? '');
    const user = await users.byId(accountId);
    if (user === undefined) return html(reply, renderErrorPage('access_denied', 'The account is gone.'), 400);
    const launched = await ehrLaunchOf(details, user);
    if (launched === null) return html(reply, renderErrorPage('invalid_request', LAUNCH_GONE), 400);
    const context = await chosenContext(options.patients, readerOf(request, details, user), {
      needs: contextNeeds(String(details.params.scope ?? ''), user, launched),
      ...(launched !== undefined ? { launched } : {}),
      ownPatient: ownPatient(user),
      form,
    });
    if ('retry' in context) {
      return consentPage(request, details, reply, context.retry.params, context.retry.error);
    }
    if ('next' in context) return consentPage(request, details, reply, context.next);
    const { patient, encounter } = context;
    const grant =
      (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
      new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    const promptDetails = details.prompt.details;
    const oidcScopes = stringList(promptDetails.missingOIDCScope);
    if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
    const claims = stringList(promptDetails.missingOIDCClaims);
    if (claims.length > 0) grant.addOIDCClaims(claims);
    const resourceScopes = promptDetails.missingResourceScopes;
    if (typeof resourceScopes === 'object' && resourceScopes !== null) {
      for (const [indicator, scopes] of Object.entries(resourceScopes)) {
        const allowed = stringList(scopes).filter((scope) => scopeFitsUser(scope, user));
        if (allowed.length > 0) grant.addResourceScope(indicator, allowed.join(' '));
      }
    }
    const grantId = await grant.save();
    if (patient !== undefined || encounter !== undefined) {
      await options.launchContexts.set(grantId, {
        ...(patient !== undefined ? { patient } : {}),
        ...(encounter !== undefined ? { encounter } : {}),
      });
    }
    return finish(request, reply, { consent: { grantId } });
  });
}

/**
 * CSP `form-action` of a sign-in page: its own origin, and the app's redirect URI (already checked
 * against the client's registration by the provider). Browsers apply `form-action` to every
 * redirect that follows a form post (Chromium does), and the last post of a sign-in ends in a
 * redirect to the app; without its origin here the browser blocks the return with the code.
 */
function formTargets(redirectUri: string | undefined): string {
  if (redirectUri === undefined || !URL.canParse(redirectUri)) return "'self'";
  const url = new URL(redirectUri);
  // A native app's private-use scheme (`com.example.app:/callback`) has no origin: allow the scheme.
  const source = url.origin === 'null' ? url.protocol : url.origin;
  return /^[A-Za-z][A-Za-z0-9+.-]*:(\/\/[^\s;,']+)?$/.test(source) ? `'self' ${source}` : "'self'";
}

function paramUid(request: FastifyRequest): string {
  const params = request.params;
  return typeof params === 'object' && params !== null && 'uid' in params ? String(params.uid) : '';
}

function formOf(request: FastifyRequest): Form {
  const body = request.body;
  if (typeof body !== 'object' || body === null) return {};
  return Object.fromEntries(
    Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** What the consent page lists: identity scopes and the resource scopes this user may hold. */
function consentScopes(details: Details, user: User): string[] {
  const requested = String(details.params.scope ?? '')
    .split(' ')
    .filter((scope) => scope !== '');
  return requested.filter((scope) => parseResourceScope(scope) === undefined || scopeFitsUser(scope, user));
}

/**
 * A patient or proxy signs in for one record: `patient/` scopes only. Staff may hold `user/` and
 * `patient/` scopes; `system/` scopes are for backend clients and never come from a sign-in.
 */
function scopeFitsUser(scope: string, user: User): boolean {
  const parsed = parseResourceScope(scope);
  if (parsed === undefined) return false;
  if (parsed.context === 'system') return false;
  const patientSide = user.roles.some((role) => role === 'patient' || role === 'proxy');
  return !patientSide || parsed.context === 'patient';
}
