/**
 * Test vectors from RFC 9180 Appendix A (base mode, DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256), transcribed from the RFC's published vectors as committed in
 * github.com/cfrg/draft-irtf-cfrg-hpke (draft-irtf-cfrg-hpke.md, "Test Vectors").
 * RFC 9180 has no AES-256-GCM vector for this KEM and KDF; hpke-rfc9180.test.ts therefore
 * pins the KEM and key schedule with A.1.1 (AES-128-GCM), A.2.1 (ChaCha20Poly1305, KEM
 * level only: @hpke/core has no ChaCha) and A.7.1 (Export-Only), and checks the
 * AES-256-GCM suite against an independent key schedule computed with node:crypto.
 * Test data only.
 */

/** The fields of one base-mode vector used by the tests (hex). */
export interface BaseVector {
  readonly section: string;
  readonly aeadId: number;
  readonly info: string;
  readonly ikmE: string;
  readonly pkEm: string;
  readonly skEm: string;
  readonly ikmR: string;
  readonly pkRm: string;
  readonly skRm: string;
  readonly enc: string;
  readonly sharedSecret: string;
  readonly key: string;
  readonly baseNonce: string;
  readonly exporterSecret: string;
  readonly encryptions: readonly {
    readonly seq: number;
    readonly pt: string;
    readonly aad: string;
    readonly ct: string;
  }[];
  readonly exports: readonly { readonly context: string; readonly length: number; readonly value: string }[];
}

const PT = '4265617574792069732074727574682c20747275746820626561757479';
const INFO = '4f6465206f6e2061204772656369616e2055726e';

/** A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode. */
export const A_1_1: BaseVector = {
  section: 'A.1.1',
  aeadId: 1,
  info: INFO,
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
  enc: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  sharedSecret: 'fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc',
  key: '4531685d41d65f03dc48f6b8302c05b0',
  baseNonce: '56d890e5accaaf011cff4b7d',
  exporterSecret: '45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8',
  encryptions: [
    {
      seq: 0,
      pt: PT,
      aad: '436f756e742d30',
      ct: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
    },
    {
      seq: 1,
      pt: PT,
      aad: '436f756e742d31',
      ct: 'af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84',
    },
    {
      seq: 2,
      pt: PT,
      aad: '436f756e742d32',
      ct: '498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180',
    },
    {
      seq: 4,
      pt: PT,
      aad: '436f756e742d34',
      ct: '583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d',
    },
    {
      seq: 255,
      pt: PT,
      aad: '436f756e742d323535',
      ct: '7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a',
    },
    {
      seq: 256,
      pt: PT,
      aad: '436f756e742d323536',
      ct: '957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2',
    },
  ],
  exports: [
    { context: '', length: 32, value: '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee' },
    { context: '00', length: 32, value: '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5' },
    {
      context: '54657374436f6e74657874',
      length: 32,
      value: 'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931',
    },
  ],
};

/** A.2.1: the same KEM with ChaCha20Poly1305; only its KEM values are used. */
export const A_2_1_KEM = {
  section: 'A.2.1',
  ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
  pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  skEm: 'f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600',
  ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
  pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
  skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
  enc: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  sharedSecret: '0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7',
} as const;

/** A.7.1: the same KEM and KDF with the Export-Only AEAD. */
export const A_7_1: BaseVector = {
  section: 'A.7.1',
  aeadId: 0xffff,
  info: INFO,
  ikmE: '55bc245ee4efda25d38f2d54d5bb6665291b99f8108a8c4b686c2b14893ea5d9',
  pkEm: 'e5e8f9bfff6c2f29791fc351d2c25ce1299aa5eaca78a757c0b4fb4bcd830918',
  skEm: '095182b502f1f91f63ba584c7c3ec473d617b8b4c2cec3fad5af7fa6748165ed',
  ikmR: '683ae0da1d22181e74ed2e503ebf82840deb1d5e872cade20f4b458d99783e31',
  pkRm: '194141ca6c3c3beb4792cd97ba0ea1faff09d98435012345766ee33aae2d7664',
  skRm: '33d196c830a12f9ac65d6e565a590d80f04ee9b19c83c87f2c170d972a812848',
  enc: 'e5e8f9bfff6c2f29791fc351d2c25ce1299aa5eaca78a757c0b4fb4bcd830918',
  sharedSecret: 'e81716ce8f73141d4f25ee9098efc968c91e5b8ce52ffff59d64039e82918b66',
  key: '',
  baseNonce: '',
  exporterSecret: '79dc8e0509cf4a3364ca027e5a0138235281611ca910e435e8ed58167c72f79b',
  encryptions: [],
  exports: [
    { context: '', length: 32, value: '7a36221bd56d50fb51ee65edfd98d06a23c4dc87085aa5866cb7087244bd2a36' },
    { context: '00', length: 32, value: 'd5535b87099c6c3ce80dc112a2671c6ec8e811a2f284f948cec6dd1708ee33f0' },
    {
      context: '54657374436f6e74657874',
      length: 32,
      value: 'ffaabc85a776136ca0c378e5d084c9140ab552b78f039d2e8775f26efff4c70e',
    },
  ],
};
