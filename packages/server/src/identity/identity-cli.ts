/**
 * `concordia users …`, `concordia clients …` and `concordia keys …`: manage the people who sign
 * in, the client applications that get tokens, and the token signing keys. Secrets are printed
 * once, to stdout, at creation; nothing here logs them.
 */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { isRole, ROLES, type Role } from '../access/roles.ts';
import type { Config } from '../config.ts';
import type { Database } from '../store/database.ts';
import { CLIENT_AUTH_METHODS, type ClientAuthMethod, ClientError, type ClientKind } from './clients.ts';
import { openIdentityDirectories } from './identity.ts';
import { activeSigningKeys, retireSigningKey, rotateSigningKey } from './signing-keys.ts';
import { UserError } from './users.ts';

export type OpenDatabase = () => Promise<{ config: Config; database: Database }>;

export function registerIdentityCommands(program: Command, open: OpenDatabase): void {
  const withDirectories = async <T>(
    work: (
      directories: Awaited<ReturnType<typeof openIdentityDirectories>>,
      database: Database,
    ) => Promise<T>,
  ): Promise<T> => {
    const { config, database } = await open();
    try {
      return await work(await openIdentityDirectories(config, database), database);
    } catch (error) {
      if (error instanceof UserError || error instanceof ClientError) {
        process.stderr.write(`concordia: ${error.message}\n`);
        process.exitCode = 1;
        return undefined as T;
      }
      throw error;
    } finally {
      await database.close();
    }
  };

  const users = program.command('users').description('Manage the people who sign in (roles, MFA, lockout).');
  users
    .command('add')
    .description(
      'Create a user; the password is read from the first line of stdin (never from the command line).',
    )
    .argument('<username>', 'lower-case sign-in name')
    .requiredOption(
      '-r, --role <role...>',
      `one or more of: ${ROLES.filter((r) => r !== 'system').join(', ')}`,
      roleList,
    )
    .option('--name <display name>', 'name shown on pages')
    .option('--fhir-user <reference>', 'Practitioner/…, Patient/… or RelatedPerson/… the account stands for')
    .option('--practitioner-role <reference>', 'PractitionerRole/… the practitioner acts in')
    .option('--organization <reference>', 'Organization/… the user acts for')
    .addHelpText(
      'after',
      `
Passwords: at least 12 characters, not the user name, not a common password. Clinical and
administrator roles must enrol a TOTP second factor at their first sign-in.

Examples:
  $ printf '%s\\n' 'a long pass phrase' | concordia users add dr.ferreira --role family-doctor \\
      --fhir-user Practitioner/demo-practitioner-1 --organization Organization/demo-clinic
  $ concordia users add olena --role patient --fhir-user Patient/123 < password.txt`,
    )
    .action(
      async (
        username: string,
        options: {
          role: Role[];
          name?: string;
          fhirUser?: string;
          practitionerRole?: string;
          organization?: string;
        },
      ) => {
        const password = await firstLineOfStdin();
        await withDirectories(async ({ users: directory }) => {
          const user = await directory.add({
            username,
            password,
            roles: options.role,
            ...(options.name !== undefined ? { displayName: options.name } : {}),
            ...(options.fhirUser !== undefined ? { fhirUser: options.fhirUser } : {}),
            ...(options.practitionerRole !== undefined ? { practitionerRole: options.practitionerRole } : {}),
            ...(options.organization !== undefined ? { organization: options.organization } : {}),
          });
          process.stdout.write(`Created user ${user.username} (${user.roles.join(', ')}), id ${user.id}\n`);
        });
      },
    );
  users
    .command('list')
    .description('List users: roles, linked resource, MFA, lockout and disabled state.')
    .action(async () => {
      await withDirectories(async ({ users: directory }) => {
        for (const user of await directory.list()) {
          const flags = [
            user.mfaEnrolled ? 'mfa' : 'no-mfa',
            ...(user.lockedUntil !== undefined && Date.parse(user.lockedUntil) > Date.now()
              ? [`locked until ${user.lockedUntil}`]
              : []),
            ...(user.disabled ? ['disabled'] : []),
          ];
          process.stdout.write(
            `${user.username}\t${user.roles.join(',')}\t${user.fhirUser ?? '-'}\t${flags.join(' ')}\n`,
          );
        }
      });
    });
  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(name)
      .description(
        disabled
          ? 'Stop a user from signing in and sign them out everywhere (servers refuse their tokens within 5 s).'
          : 'Let a disabled user sign in again.',
      )
      .argument('<username>')
      .action(async (username: string) => {
        await withDirectories(async ({ users: directory }) => {
          if (!(await directory.setDisabled(username, disabled)))
            throw new UserError(`No user named "${username}"`);
          process.stdout.write(`${disabled ? 'Disabled' : 'Enabled'} ${username}\n`);
        });
      });
  }
  users
    .command('reset-mfa')
    .description(
      "Forget a user's TOTP second factor (they enrol again at the next sign-in) and lift a lockout.",
    )
    .argument('<username>')
    .action(async (username: string) => {
      await withDirectories(async ({ users: directory }) => {
        if (!(await directory.resetMfa(username))) throw new UserError(`No user named "${username}"`);
        process.stdout.write(`Reset the second factor of ${username}\n`);
      });
    });

  users
    .command('sign-out')
    .description('End every session of a user: grants and refresh tokens deleted, access tokens refused.')
    .argument('<username>')
    .action(async (username: string) => {
      await withDirectories(async ({ users: directory }) => {
        if (!(await directory.signOut(username))) throw new UserError(`No user named "${username}"`);
        process.stdout.write(`Signed ${username} out everywhere\n`);
      });
    });

  const clients = program.command('clients').description('Manage client applications (OAuth 2.0 / SMART).');
  clients
    .command('add')
    .description('Register a client application; a generated secret is printed once.')
    .argument('<name>', 'what the consent page calls it')
    .requiredOption(
      '-k, --kind <kind>',
      'backend (client credentials), confidential (server-side app) or public (browser/mobile app)',
      clientKind,
    )
    .requiredOption(
      '-s, --scope <scope...>',
      'scopes it may ever be granted, e.g. system/*.rs or patient/*.rs openid fhirUser',
    )
    .option('--redirect-uri <uri...>', 'where the app receives codes (confidential and public clients)')
    .option('--auth <method>', `token endpoint authentication: ${CLIENT_AUTH_METHODS.join(', ')}`, authMethod)
    .option('--jwks <file>', 'JWK Set file with the public keys for private_key_jwt')
    .option('--jwks-uri <url>', 'where the client publishes its JWK Set (private_key_jwt)')
    .option('--organization <reference>', 'Organization/… a backend client acts for')
    .option('--client-id <id>', 'choose the client id (default: random)')
    .addHelpText(
      'after',
      `
Examples:
  $ concordia clients add "Lab system" --kind backend --scope 'system/*.rs' 'system/Observation.c'
  $ concordia clients add "Bulk export" --kind backend --scope 'system/*.rs' --jwks ./bulk-client.jwks.json
  $ concordia clients add "Growth chart" --kind public --redirect-uri https://app.example/callback \\
      --scope openid fhirUser launch/patient offline_access 'patient/*.rs'

See docs/integrators.md for getting a token with client_credentials and private_key_jwt.`,
    )
    .action(
      async (
        name: string,
        options: {
          kind: ClientKind;
          scope: string[];
          redirectUri?: string[];
          auth?: ClientAuthMethod;
          jwks?: string;
          jwksUri?: string;
          organization?: string;
          clientId?: string;
        },
      ) => {
        const jwks =
          options.jwks === undefined ? undefined : JSON.parse(await readFile(options.jwks, 'utf8'));
        await withDirectories(async ({ clients: registry }) => {
          const { client, clientSecret } = await registry.add({
            name,
            kind: options.kind,
            scopes: options.scope,
            ...(options.redirectUri !== undefined ? { redirectUris: options.redirectUri } : {}),
            ...(options.auth !== undefined ? { authMethod: options.auth } : {}),
            ...(jwks !== undefined ? { jwks } : {}),
            ...(options.jwksUri !== undefined ? { jwksUri: options.jwksUri } : {}),
            ...(options.organization !== undefined ? { organization: options.organization } : {}),
            ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
          });
          process.stdout.write(`client_id: ${client.clientId}\n`);
          if (clientSecret !== undefined)
            process.stdout.write(`client_secret: ${clientSecret}\n(shown once: store it now)\n`);
          process.stdout.write(`authentication: ${client.authMethod}\nscopes: ${client.scopes.join(' ')}\n`);
        });
      },
    );
  clients
    .command('list')
    .description('List registered clients.')
    .action(async () => {
      await withDirectories(async ({ clients: registry }) => {
        for (const client of await registry.list()) {
          process.stdout.write(
            `${client.clientId}\t${client.kind}\t${client.authMethod}\t${client.name}\t${client.scopes.join(' ')}${client.disabled ? '\tdisabled' : ''}\n`,
          );
        }
      });
    });
  clients
    .command('remove')
    .description(
      'Remove a client, with its grants and refresh tokens; servers refuse its access tokens within 5 s.',
    )
    .argument('<client-id>')
    .action(async (clientId: string) => {
      await withDirectories(async ({ clients: registry }) => {
        if (!(await registry.remove(clientId))) throw new ClientError(`No client "${clientId}"`);
        process.stdout.write(`Removed client ${clientId}\n`);
      });
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    clients
      .command(name)
      .description(
        disabled
          ? 'Stop a client from getting tokens; its grants end and servers refuse its access tokens within 5 s.'
          : 'Let a disabled client get tokens again.',
      )
      .argument('<client-id>')
      .action(async (clientId: string) => {
        await withDirectories(async ({ clients: registry }) => {
          if (!(await registry.setDisabled(clientId, disabled)))
            throw new ClientError(`No client "${clientId}"`);
          process.stdout.write(`${disabled ? 'Disabled' : 'Enabled'} client ${clientId}\n`);
        });
      });
  }
  clients
    .command('rotate-secret')
    .description(
      "Give a client a new secret, printed once; the old one and the client's tokens stop working.",
    )
    .argument('<client-id>')
    .action(async (clientId: string) => {
      await withDirectories(async ({ clients: registry }) => {
        process.stdout.write(`${await registry.rotateSecret(clientId)}\n`);
      });
    });

  const keys = program.command('keys').description('Token signing keys (rotation).');
  keys
    .command('list')
    .description('List the active signing keys, newest (the one that signs) first.')
    .action(async () => {
      await withDirectories(async ({ box }, database) => {
        for (const key of await activeSigningKeys(database, box))
          process.stdout.write(`${key.kid}\t${key.alg}\t${key.createdAt}\n`);
      });
    });
  keys
    .command('rotate')
    .description(
      'Add a new signing key. Servers sign with it after their next start; older keys keep verifying.',
    )
    .action(async () => {
      await withDirectories(async ({ box }, database) => {
        process.stdout.write(
          `New signing key ${await rotateSigningKey(database, box)}; restart the servers to sign with it\n`,
        );
      });
    });
  keys
    .command('retire')
    .description('Stop publishing an older key: tokens it signed stop verifying. Wait until they expired.')
    .argument('<kid>')
    .action(async (kid: string) => {
      await withDirectories(async (_directories, database) => {
        if (!(await retireSigningKey(database, kid)))
          throw new UserError(`No active older key "${kid}" (the newest key cannot be retired)`);
        process.stdout.write(`Retired signing key ${kid}\n`);
      });
    });
}

function roleList(value: string, previous: Role[] = []): Role[] {
  if (!isRole(value) || value === 'system') throw new InvalidArgumentError(`not a user role: ${value}`);
  return [...previous, value];
}

function clientKind(value: string): ClientKind {
  if (value !== 'backend' && value !== 'confidential' && value !== 'public') {
    throw new InvalidArgumentError('must be backend, confidential or public');
  }
  return value;
}

function authMethod(value: string): ClientAuthMethod {
  const method = CLIENT_AUTH_METHODS.find((candidate) => candidate === value);
  if (method === undefined)
    throw new InvalidArgumentError(`must be one of ${CLIENT_AUTH_METHODS.join(', ')}`);
  return method;
}

async function firstLineOfStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('Pipe the password on stdin');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0] ?? '';
}
