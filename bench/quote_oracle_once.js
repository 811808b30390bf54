// SPDX-License-Identifier: Apache-2.0
// One verification of one TDX quote by the npm oracle @phala/dcap-qvl (the
// version tests/oracle pins), in a process of its own: what bench_quote.sh
// times against the whole `dstack-gpu-attest quote verify` process.
//
//   node bench/quote_oracle_once.js QUOTE COLLATERAL UNIX_SECONDS
//
// QUOTE is the binary quote, COLLATERAL QuoteCollateralV3 JSON. Prints the
// status; exit 0 when the quote verified, 1 when it did not, 3 when the
// oracle is not installed ($DCAP_QVL, else tests/oracle/node_modules).
'use strict';

const fs = require('fs');
const path = require('path');

let lib;
try {
    lib = require(process.env.DCAP_QVL ||
                  path.join(__dirname, '..', 'tests', 'oracle', 'node_modules', '@phala',
                            'dcap-qvl'));
} catch (e) {
    process.stderr.write('quote_oracle_once.js: @phala/dcap-qvl is not installed\n');
    process.exit(3);
}

if (process.argv.length !== 5) {
    process.stderr.write('usage: node quote_oracle_once.js QUOTE COLLATERAL UNIX_SECONDS\n');
    process.exit(2);
}
const quote = fs.readFileSync(process.argv[2]);
const collateral = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
try {
    const r = lib.verify(quote, collateral, Number(process.argv[4]));
    process.stdout.write(r.status + '\n');
} catch (e) {
    process.stderr.write('quote_oracle_once.js: ' + (e && e.message) + '\n');
    process.exit(1);
}
