#!/usr/bin/env node
// Writes the seed corpus for talk2me-fuzz-model-file into native/fuzz/corpus/model_file/.
//
// A complete model cannot be a seed: the token embedding alone is n_vocab x width (6.6 MB at the
// `mini` width). What the fuzzer needs are files that reach each stage of the check, so the seeds are
// a valid prefix of a `mini` model (header, mel filters, a short vocabulary, a few tensors: the
// check walks it all and refuses it only at the end for the missing tensors) and damaged cuts of it.
// The files are committed; rerun this only when the format or the dimensions change:
//   node native/fuzz/write-model-seeds.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(fileURLToPath(import.meta.url)), 'corpus', 'model_file');
mkdirSync(out, { recursive: true });

const GGML_MAGIC = 0x67676d6c;
const GGUF_MAGIC = 0x46554747;
const F32 = 0;
const F16 = 1;
// `mini` (src/model/dims.ts): tiny.en's vocabulary and contexts, width 64, one layer, f16 weights.
const MINI = [51864, 1500, 64, 1, 1, 448, 64, 1, 1, 80, 1];

const i32 = (...values) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
};
const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

const header = (fields = MINI, magic = GGML_MAGIC) => Buffer.concat([u32(magic), i32(...fields)]);
const melFilters = () => Buffer.concat([i32(80, 201), Buffer.alloc(80 * 201 * 4)]);
const vocabulary = (tokens) => Buffer.concat([i32(tokens.length), ...tokens.flatMap((t) => [u32(Buffer.byteLength(t)), Buffer.from(t)])]);

// One tensor as whisper.cpp's loader reads it: n_dims, name length, type, the dims, the name, the data.
function tensor(name, type, ne, { nDims = ne.length } = {}) {
  const elements = ne.reduce((a, b) => a * b, 1);
  const data = Buffer.alloc(elements * (type === F16 ? 2 : 4));
  for (let i = 0; i < data.length; i += 2) data[i] = (i * 37) & 0xff;
  return Buffer.concat([i32(nDims, Buffer.byteLength(name), type), i32(...ne.slice(0, nDims)), Buffer.from(name), data]);
}

const tokens = ['!', ' ', ' -', " '", 'the'];
const someTensors = [
  tensor('encoder.conv1.bias', F32, [1, 64]),
  tensor('encoder.ln_post.weight', F32, [64]),
  tensor('encoder.ln_post.bias', F32, [64]),
  tensor('encoder.blocks.0.attn.query.weight', F16, [64, 64]),
  tensor('decoder.ln.weight', F32, [64]),
];
const prefix = Buffer.concat([header(), melFilters(), vocabulary(tokens)]);

const seeds = {
  // Only the hyperparameters: the fuzzer mutates them against every range check.
  'header-only.bin': header(),
  'header-bad-ftype.bin': header([...MINI.slice(0, 10), 77]),
  'gguf-magic.bin': header(MINI, GGUF_MAGIC),
  'cut-inside-mel.bin': Buffer.concat([header(), i32(80, 201), Buffer.alloc(64)]),
  // Every stage up to the tensor list, refused only because tensors are missing.
  'valid-prefix.bin': Buffer.concat([prefix, ...someTensors]),
  'vocab-without-space.bin': Buffer.concat([header(), melFilters(), vocabulary(['!', 'a', 'b']), someTensors[0]]),
  'tensor-four-dims.bin': Buffer.concat([prefix, someTensors[0], tensor('encoder.ln_post.bias', F32, [64, 1, 1, 1])]),
  'tensor-twice.bin': Buffer.concat([prefix, someTensors[1], someTensors[1]]),
  'tensor-cut-in-data.bin': Buffer.concat([prefix, someTensors[3].subarray(0, 100)]),
};
for (const [name, bytes] of Object.entries(seeds)) {
  writeFileSync(join(out, name), bytes);
  console.log(`${name}: ${bytes.length} bytes`);
}
