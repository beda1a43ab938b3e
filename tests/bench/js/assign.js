// assign.js - ns per assignment with two JavaScript SDKs, in process, offline:
//   * GrowthBook (@growthbook/growthbook): an inline experiment, 50/50, hashed
//     on the unit id, through GrowthBookClient.runInlineExperiment (the SDK's
//     multi-user server-side API: one client, a user context per call);
//   * Unleash (unleash-client): a toggle with a 100% flexible rollout and two
//     variants at 50/50 sticky on userId, bootstrapped from memory with metrics
//     disabled and polling off (no server is ever contacted), through getVariant.
//
//   node tests/bench/js/assign.js [runs]
//
// Unit ids are the C and Lua benchmarks': "user-" + the index zero-padded to
// 11..19 digits (16..24 bytes), 2^20 distinct (>= 10^6), each run one pass over
// all of them in order. A run is timed with process.hrtime (wall); the first run
// is a warm-up (JIT), then `runs` timed runs give the median and min..max.
// Prints one JSON object. Each side must split the units close to 50/50, or the
// script fails: a broken setup must not produce a fast, meaningless figure.
'use strict';

const { GrowthBookClient } = require('@growthbook/growthbook');
const { initialize, InMemStorageProvider } = require('unleash-client');

const RUNS = Number(process.argv[2] || 5);
const NUNITS = 1 << 20;

const units = new Array(NUNITS);
for (let i = 0; i < NUNITS; i++) {
  units[i] = 'user-' + String(i).padStart(11 + (i % 9), '0');
}

function measure(name, call) {
  const ns = [];
  let treatment = 0;
  for (let r = 0; r <= RUNS; r++) {
    treatment = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < NUNITS; i++) treatment += call(units[i]);
    const dt = Number(process.hrtime.bigint() - t0);
    if (r > 0) ns.push(dt / NUNITS);
  }
  const share = treatment / NUNITS;
  if (!(share > 0.45 && share < 0.55)) {
    throw new Error(`${name}: ${(share * 100).toFixed(1)}% of units in treatment, expected ~50%`);
  }
  ns.sort((a, b) => a - b);
  return { median: ns[(ns.length - 1) >> 1], min: ns[0], max: ns[ns.length - 1],
           runs: RUNS, treatment_share: share };
}

async function main() {
  const out = { units: NUNITS, runs: RUNS, node: process.version, sdks: {} };

  const gb = new GrowthBookClient({});
  await gb.init({ payload: { features: {} } });
  const experiment = { key: 'bench', variations: ['control', 'treatment'] };
  out.sdks.growthbook = {
    version: require('@growthbook/growthbook/package.json').version,
    call: 'GrowthBookClient.runInlineExperiment({key, variations: [control, treatment]}, {attributes: {id}})',
    ...measure('growthbook', (id) => {
      const res = gb.runInlineExperiment(experiment, { attributes: { id } });
      return res.inExperiment && res.value === 'treatment' ? 1 : 0;
    }),
  };

  const toggle = {
    name: 'bench', enabled: true, type: 'experiment', project: 'default', stale: false,
    strategies: [{ name: 'flexibleRollout', constraints: [],
                   parameters: { rollout: '100', stickiness: 'default', groupId: 'bench' } }],
    variants: [
      { name: 'control', weight: 500, weightType: 'variable', stickiness: 'default' },
      { name: 'treatment', weight: 500, weightType: 'variable', stickiness: 'default' },
    ],
  };
  const unleash = initialize({
    appName: 'sluice-bench', url: 'http://127.0.0.1:9/never-contacted/', refreshInterval: 0,
    disableMetrics: true, storageProvider: new InMemStorageProvider(),
    bootstrap: { data: [toggle] }, skipInstanceCountWarning: true,
  });
  await new Promise((resolve, reject) => {
    unleash.once('ready', resolve);
    unleash.once('error', reject);
  });
  out.sdks.unleash = {
    version: require('unleash-client/package.json').version,
    call: 'unleash.getVariant(toggle, {userId}) (flexibleRollout 100%, variants 50/50)',
    ...measure('unleash', (userId) => {
      const v = unleash.getVariant('bench', { userId });
      return v.enabled && v.name === 'treatment' ? 1 : 0;
    }),
  };
  unleash.destroy();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`assign.js: ${e.stack || e}\n`);
  process.exit(1);
});
