// An independent verifier of a Looptrace credential's Data Integrity proof (eddsa-jcs-2022), built
// only from Digital Bazaar's npm packages (jsonld-signatures, data-integrity, the eddsa-jcs-2022
// cryptosuite, ed25519-multikey): none of Looptrace's code is used.
//
//   node verify.mjs <credential.json> <server base URL>
//
// The issuer's did:web is resolved over HTTP from the server: did:web always means HTTPS
// (did:web spec section 3.2), and a test server speaks plain HTTP, so the DID's host must be the
// server's and the document is fetched from <server>/<path>/did.json. The credential's status
// list is fetched (JSON, with its own proof verified the same way) and its bit read. JSON-LD
// contexts come from local files only; any other URL is refused, so nothing leaves the machine
// but requests to the server. Prints one JSON object; exits 0 when the proof verifies.
import {readFile} from 'node:fs/promises';
import {gunzipSync} from 'node:zlib';

import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import jsigs from 'jsonld-signatures';

const {purposes: {AssertionProofPurpose}} = jsigs;
const MULTIKEY_CONTEXT = 'https://w3id.org/security/multikey/v1';
const UNTP_CONTEXT = 'https://vocabulary.uncefact.org/untp/0.7.0/context/';

const [credentialFile, serverUrl] = process.argv.slice(2);
if(!credentialFile || !serverUrl) {
  console.error('usage: node verify.mjs <credential.json> <server base URL>');
  process.exit(2);
}
const server = new URL(serverUrl);

const localContexts = new Map(credentialsContexts);
localContexts.set(UNTP_CONTEXT, JSON.parse(await readFile(
  new URL('../data/vc_contexts/untp-0.7.0.json', import.meta.url), 'utf8')));

async function fetchJson(url, accept) {
  const response = await fetch(url, {headers: {Accept: accept}});
  if(!response.ok) {
    throw new Error(`${url} answered ${response.status}`);
  }
  return response.json();
}

// did:web:<host>:<path segments> -> <server>/<path>/did.json, the host being the server's.
function didWebUrl(did) {
  const [method, name, host, ...segments] = did.split(':');
  if(`${method}:${name}` !== 'did:web' || !host) {
    throw new Error(`not a did:web: ${did}`);
  }
  if(decodeURIComponent(host) !== server.host) {
    throw new Error(`the DID's host ${decodeURIComponent(host)} is not the server's (${server.host})`);
  }
  const path = segments.length ? segments.map(decodeURIComponent).join('/') : '.well-known';
  return new URL(`/${path}/did.json`, server);
}

const didDocuments = new Map();
async function resolveDid(did) {
  if(!didDocuments.has(did)) {
    const document = await fetchJson(didWebUrl(did), 'application/did+json');
    if(document.id !== did) {
      throw new Error(`the DID document at ${didWebUrl(did)} is not ${did}'s`);
    }
    didDocuments.set(did, document);
  }
  return didDocuments.get(did);
}

async function documentLoader(url) {
  if(localContexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: localContexts.get(url)};
  }
  if(url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    const document = await resolveDid(did);
    if(fragment === undefined) {
      return {contextUrl: null, documentUrl: url, document};
    }
    const method = (document.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`${did} lists no verification method ${url}`);
    }
    return {contextUrl: null, documentUrl: url, document: {'@context': MULTIKEY_CONTEXT, ...method}};
  }
  throw new Error(`refusing to load ${url}: not a local context nor the issuer's DID`);
}

async function verifyProof(document) {
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await jsigs.verify(document, {suite, purpose: new AssertionProofPurpose(), documentLoader});
  const errors = [];
  if(!result.verified) {
    errors.push(String(result.error?.errors?.[0]?.message || result.error?.message || result.error || 'not verified'));
  }
  // A key revoked (rotated) before the proof was made must not have made it.
  for(const proofResult of result.results || []) {
    const method = proofResult.verificationMethod;
    if(method?.revoked && proofResult.proof?.created && proofResult.proof.created > method.revoked) {
      errors.push(`the key was revoked at ${method.revoked}, before the proof's ${proofResult.proof.created}`);
    }
  }
  return {verified: result.verified && errors.length === 0, errors};
}

async function statusOf(entry) {
  if(!entry || entry.type !== 'BitstringStatusListEntry') {
    return {checked: false, reason: 'no BitstringStatusListEntry'};
  }
  const listUrl = new URL(entry.statusListCredential);
  if(listUrl.host !== server.host) {
    return {checked: false, reason: `the status list ${listUrl} is not on the server`};
  }
  const list = await fetchJson(listUrl, 'application/vc');
  const listProof = await verifyProof(list);
  const subject = list.credentialSubject;
  if(subject.statusPurpose !== entry.statusPurpose) {
    return {checked: false, reason: 'the status list serves another purpose'};
  }
  const encoded = subject.encodedList;
  if(!encoded.startsWith('u')) {
    return {checked: false, reason: 'the encodedList is not multibase base64url'};
  }
  const bits = gunzipSync(Buffer.from(encoded.slice(1), 'base64url'));
  const index = Number.parseInt(entry.statusListIndex, 10);
  if(!(index >= 0 && index < bits.length * 8)) {
    return {checked: false, reason: 'the index is outside the list'};
  }
  const set = Boolean(bits[Math.floor(index / 8)] & (0x80 >> (index % 8)));
  return {
    checked: listProof.verified, listVerified: listProof.verified, listErrors: listProof.errors,
    purpose: entry.statusPurpose, index, set, listBits: bits.length * 8
  };
}

const credential = JSON.parse(await readFile(credentialFile, 'utf8'));
const proof = await verifyProof(structuredClone(credential));
let status;
try {
  status = await statusOf(credential.credentialStatus);
} catch(error) {
  status = {checked: false, reason: String(error.message || error)};
}
console.log(JSON.stringify({verified: proof.verified, errors: proof.errors, status}));
process.exit(proof.verified ? 0 : 1);
