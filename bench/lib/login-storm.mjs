// A login storm in its own process (so it does not share the measuring process's core): POSTs
// /auth/login for known accounts in a closed loop until STORM_SECONDS have passed.
import autocannon from 'autocannon';

const accounts = JSON.parse(process.env.STORM_ACCOUNTS);
let next = 0;
autocannon(
  {
    url: process.env.STORM_URL,
    connections: Number(process.env.STORM_CONNECTIONS),
    duration: Number(process.env.STORM_SECONDS),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: JSON.stringify(accounts[next++ % accounts.length]) }) }],
  },
  (error, result) => {
    if (error) {
      console.error(error);
      process.exitCode = 1;
      return;
    }
    console.log(JSON.stringify({ rps: result.requests.average, non2xx: result.non2xx }));
  },
);
