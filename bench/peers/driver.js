// The peer: bpmn-engine running section 3.1 (incoming-request.bpmn) the way
// bench/ drives reglament's workload 1: N instances, VIP and regular
// alternating, every user task completed with its form values as soon as it
// waits, and the instance's state saved after each task (user or service).
//
//   node driver.js --instances N --repeat R [--dir DIR]
//
// Modes: memory (no persistence), normal (SQLite, WAL, synchronous=NORMAL),
// full (SQLite, WAL, synchronous=FULL). Prints one JSON object on stdout:
// per mode the median tasks/s of R runs. Persistence uses better-sqlite3,
// built from source by npm (bench/peers/package.json); when it cannot be
// loaded the SQLite modes are reported as unavailable, with the reason.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { EventEmitter } = require('events');
const { Engine } = require('bpmn-engine');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const instances = Number(arg('instances', '200'));
const repeat = Number(arg('repeat', '3'));
const dir = arg('dir', fs.mkdtempSync(path.join(os.tmpdir(), 'reglament-peer-')));
const source = fs.readFileSync(path.join(__dirname, 'incoming-request.bpmn'), 'utf8');

let Database = null;
let sqliteError = null;
try {
  Database = require('better-sqlite3');
} catch (e) {
  sqliteError = String(e.message || e).split('\n')[0];
}

// The form values the C++ driver gives the same steps.
const kValues = {
  t311: {},
  t312: { reason: 'order' },
  t316: { reason: 'order' },
  t313: { company: 'ООО Ромашка', contact_person: 'Иванов', volume: 120, delivery: 'delivery' },
  t317: { company: 'ООО Ромашка', contact_person: 'Иванов', volume: 120, delivery: 'delivery' },
  t315: {},
  t319: { next_contact: '2026-12-01' },
  t3110: {},
  t3111: {},
};

function runInstance(i, store) {
  return new Promise((resolve, reject) => {
    let tasks = 0;
    const id = String(i + 1);
    const listener = new EventEmitter();
    const engine = new Engine({
      name: `incoming-request-${id}`,
      source,
      services: {
        notify(ctx, next) {
          next(null, { to: 'sales-center', text: `VIP-заявка: ${ctx.environment.variables.client}` });
        },
      },
    });
    listener.on('activity.end', (api, execution) => {
      if (api.type !== 'bpmn:UserTask' && api.type !== 'bpmn:ServiceTask') return;
      tasks += 1;
      if (store) store.save(id, JSON.stringify(execution.getState()));
    });
    listener.on('wait', (api) => {
      api.signal(kValues[api.id] || {});
    });
    engine.execute(
      { listener, variables: { client: `Клиент ${id}`, vip: i % 2 === 0 } },
      (err, execution) => {
        if (err) return reject(err);
        execution.waitFor('end').then(() => resolve(tasks), reject);
        return undefined;
      },
    );
  });
}

function openStore(mode, run) {
  if (mode === 'memory') return null;
  const file = path.join(dir, `peer-${mode}-${run}.db`);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${mode === 'full' ? 'FULL' : 'NORMAL'}`);
  db.exec('CREATE TABLE IF NOT EXISTS state (id TEXT PRIMARY KEY, json TEXT NOT NULL)');
  const put = db.prepare('INSERT OR REPLACE INTO state (id, json) VALUES (?, ?)');
  // Each save is its own autocommit transaction: durable per task.
  return { save: (id, json) => put.run(id, json), close: () => db.close(), file };
}

async function measure(mode, run) {
  const store = openStore(mode, run);
  const t0 = process.hrtime.bigint();
  let tasks = 0;
  for (let i = 0; i < instances; ++i) tasks += await runInstance(i, store);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let bytes = 0;
  if (store) {
    store.close();
    bytes = fs.statSync(store.file).size;
  }
  return { tasks, seconds, tasks_per_s: tasks / seconds, db_bytes: bytes };
}

// The version of an installed package (its exports may hide package.json).
function packageVersion(name) {
  let d = path.dirname(require.resolve(name));
  for (;;) {
    const f = path.join(d, 'package.json');
    if (fs.existsSync(f)) {
      const p = JSON.parse(fs.readFileSync(f, 'utf8'));
      if (p.name === name) return p.version;
    }
    const up = path.dirname(d);
    if (up === d) return 'unknown';
    d = up;
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const out = {
    engine: 'bpmn-engine',
    version: packageVersion('bpmn-engine'),
    node: process.version,
    instances,
    repeat,
    modes: {},
  };
  if (Database) {
    out.sqlite_driver = `better-sqlite3 ${packageVersion('better-sqlite3')}`;
    out.sqlite = new Database(':memory:').prepare('SELECT sqlite_version() AS v').get().v;
  } else {
    out.sqlite_unavailable = sqliteError;
  }
  for (const mode of ['memory', 'normal', 'full']) {
    if (mode !== 'memory' && !Database) continue;
    const runs = [];
    for (let r = 0; r < repeat; ++r) runs.push(await measure(mode, r));
    out.modes[mode] = {
      tasks: runs[0].tasks,
      tasks_per_s: median(runs.map((x) => x.tasks_per_s)),
      runs: runs.map((x) => Math.round(x.tasks_per_s)),
    };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`peer: ${e.stack || e}\n`);
  process.exit(1);
});
