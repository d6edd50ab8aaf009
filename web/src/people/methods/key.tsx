import { useState } from 'preact/hooks';
import { ErrorNotice } from '../../components/error-notice.tsx';
import { Field } from '../../components/field.tsx';
import { useAction } from '../../components/use-action.ts';
import { finishLabel, startCeremony, withMethod, type OnProof, type Purpose } from './ceremony.ts';

/**
 * An ed25519 key (spec 004's cryptographic identity). The private key never comes near the browser:
 * the person's own agent or tool signs the message shown here, and the signature is pasted back.
 */
export function KeyCeremony({ purpose, onProof, knownPublicKey = '' }: { purpose: Purpose; onProof: OnProof; knownPublicKey?: string }) {
  const [publicKey, setPublicKey] = useState(knownPublicKey);
  const [issued, setIssued] = useState<{ challenge: string; message: string } | null>(null);
  const [signature, setSignature] = useState('');
  const action = useAction();
  if (!issued) {
    return (
      <form class="card stack" aria-label={withMethod(purpose, 'a key')} onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => setIssued(await startCeremony('key', purpose, { publicKey: publicKey.trim() })));
      }}>
        <Field label="Public key" value={publicKey} onValue={setPublicKey} spellcheck={false} autoComplete="off"
          hint="The raw 32-byte ed25519 public key, base64url (43 characters)." required />
        <ErrorNotice error={action.error} />
        <button class="button primary" type="submit" disabled={action.busy}>Get the message to sign</button>
      </form>
    );
  }
  return (
    <form class="card stack" aria-label="Sign the message" onSubmit={(event) => {
      event.preventDefault();
      void action.run(() => onProof({ publicKey: publicKey.trim(), challenge: issued.challenge, signature: signature.trim() }));
    }}>
      <p>Sign exactly this text (UTF-8, plain Ed25519) with your key. Check that it names this site.</p>
      <pre class="card" data-testid="key-message">{issued.message}</pre>
      <Field label="Signature" value={signature} onValue={setSignature} spellcheck={false} autoComplete="off"
        hint="64 bytes, base64url (86 characters)." required />
      <ErrorNotice error={action.error} />
      <button class="button primary" type="submit" disabled={action.busy}>{finishLabel(purpose, 'Link this key')}</button>
      <button class="button link" type="button" onClick={() => setIssued(null)}>Use another key</button>
    </form>
  );
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/**
 * The raw public key (base64url) of an ed25519 `did:key` (`z` + base58btc of 0xed 0x01 and the 32
 * key bytes), or null: lets a step-up offer the key the identity graph already shows.
 */
export function publicKeyOfDid(did: string): string | null {
  const encoded = /^did:key:z([1-9A-HJ-NP-Za-km-z]+)$/.exec(did)?.[1];
  if (!encoded) return null;
  let value = 0n;
  for (const char of encoded) value = value * 58n + BigInt(BASE58.indexOf(char));
  const bytes: number[] = [];
  for (; value > 0n; value /= 256n) bytes.unshift(Number(value % 256n));
  if (bytes.length !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) return null;
  return btoa(String.fromCharCode(...bytes.slice(2))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
