import { PGlite } from '@electric-sql/pglite';
let t = performance.now();
const a = new PGlite(); await a.query('select 1'); console.log('new', Math.round(performance.now() - t));
t = performance.now();
const b = new PGlite(); await b.query('select 1'); console.log('second new', Math.round(performance.now() - t));
const dump = await a.dumpDataDir('none');
console.log('dump bytes', dump.size);
t = performance.now();
const c = new PGlite({ loadDataDir: dump }); await c.query('select 1'); console.log('from dump', Math.round(performance.now() - t));
