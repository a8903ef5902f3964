/**
 * A minimal browser for driving the sign-in pages over `inject`: keeps cookies, follows nothing
 * by itself (each redirect is asserted by the test), reads form fields out of the HTML.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { FORM, form } from './identity-app.ts';

export class TestBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly app: FastifyInstance) {}

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.inject({ method: 'GET', url: localPath(url), headers: this.cookieHeader() }),
    );
  }

  async post(url: string, values: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url: localPath(url),
        headers: { ...FORM, ...this.cookieHeader() },
        payload: form(values),
      }),
    );
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  private keep(response: LightMyRequestResponse): LightMyRequestResponse {
    for (const cookie of response.cookies) {
      const expired =
        cookie.maxAge === 0 ||
        (cookie.expires !== undefined && new Date(cookie.expires).getTime() < Date.now());
      if (expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }
}

/** `http://fhir.test/oauth2/…` → `/oauth2/…` (inject needs the path). */
export function localPath(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

export function location(response: LightMyRequestResponse): string {
  const value = response.headers.location;
  if (typeof value !== 'string')
    throw new Error(`no Location in a ${response.statusCode} answer: ${response.body}`);
  return value;
}

export function formField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (match?.[1] === undefined) throw new Error(`no field ${name} in the page: ${html}`);
  return match[1];
}

export function formAction(html: string): string {
  const match = /<form method="post" action="([^"]+)"/.exec(html);
  if (match?.[1] === undefined) throw new Error(`no form in the page: ${html}`);
  return match[1];
}
