/**
 * A witness's Ed25519 cosigning key, in the signed-note private key format of
 * golang.org/x/mod/sumdb/note (`PRIVATE+KEY+<name>+<key id>+<base64(type ‖ 32-byte seed)>`) with
 * type 0x04 (tlog-cosignature), so that existing witness tooling can read it, and its verifier key
 * (`<name>+<key id>+<base64(0x04 ‖ public key)>`) is what the log operator configures.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ED25519_COSIGNATURE, formatVerifierKey, isNoteKeyName, noteKeyId } from '@concordia/fhir';
import { rawEd25519PublicKey } from './node-key.ts';

export interface WitnessKey {
  name: string;
  privateKey: KeyObject;
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410 §7).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateWitnessKey(name: string): WitnessKey {
  if (!isNoteKeyName(name)) throw new Error(`A key name has no spaces or "+": ${name}`);
  return { name, privateKey: generateKeyPairSync('ed25519').privateKey };
}

export async function formatWitnessPrivateKey(key: WitnessKey): Promise<string> {
  const seed = key.privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const keyId = Buffer.from(await noteKeyId(witnessVerifierKey(key))).toString('hex');
  return `PRIVATE+KEY+${key.name}+${keyId}+${Buffer.concat([Buffer.of(ED25519_COSIGNATURE), seed]).toString('base64')}\n`;
}

export function parseWitnessPrivateKey(text: string): WitnessKey {
  const match = /^PRIVATE\+KEY\+([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)$/.exec(text.trim());
  const [, name, , encoded] = match ?? [];
  if (name === undefined || encoded === undefined)
    throw new Error('Not a PRIVATE+KEY+<name>+<id>+<key> witness key file');
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== 33 || bytes[0] !== ED25519_COSIGNATURE)
    throw new Error('Not an Ed25519 cosignature (type 0x04) key');
  return {
    name,
    privateKey: createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519_PREFIX, bytes.subarray(1)]),
      format: 'der',
      type: 'pkcs8',
    }),
  };
}

export function witnessVerifierKey(key: WitnessKey) {
  return {
    name: key.name,
    publicKey: rawEd25519PublicKey(key.privateKey),
    type: ED25519_COSIGNATURE,
  } as const;
}

export function formatWitnessVerifierKey(key: WitnessKey): Promise<string> {
  return formatVerifierKey(witnessVerifierKey(key));
}
