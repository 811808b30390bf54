// SPDX-License-Identifier: Apache-2.0
// Batch runner of the TDX quote oracle: @phala/dcap-qvl (the npm JS port of
// Phala-Network/dcap-qvl), pinned in package-lock.json and installed into
// tests/oracle/node_modules by scripts/deps.sh.
//
//   node tests/oracle/oracle.js [CASES.jsonl]      (default: stdin)
//
// One case per input line, a JSON object:
//   case            a label, echoed
//   quote           path of the quote: binary, hex text (optional 0x), or
//                   JSON with a "quote" hex member (our CLI's three forms)
//   quote_hex       instead of quote: the quote as hex
//   collateral      path of a QuoteCollateralV3 JSON file
//   collateral_obj  instead of collateral: the collateral object inline
//   now             verification time, Unix seconds
// Relative paths are relative to the directory of CASES (or the working
// directory for stdin).
//
// One output line per case, in input order:
//   {"case","ok":true,"status","advisory_ids"}
//   {"case","ok":false,"error": message, then " <- " and each cause's message}
// Node starts once for the whole batch. Exit status 0 unless a case line is
// not JSON or names a file that cannot be read (then 2): a verification
// failure is an outcome, not an error of this script.
'use strict';

const fs = require('fs');
const path = require('path');

let lib;
try {
    lib = require(process.env.DCAP_QVL || '@phala/dcap-qvl');
} catch (e) {
    process.stderr.write('oracle.js: @phala/dcap-qvl is not installed (' + e.message +
                         '); run scripts/deps.sh\n');
    process.exit(3);
}

function loadQuote(file) {
    const raw = fs.readFileSync(file);
    let s = raw.toString('latin1').trim();
    if (s.startsWith('{')) {
        return Buffer.from(JSON.parse(s).quote, 'hex');
    }
    if (s.startsWith('0x')) {
        s = s.slice(2);
    }
    if (s.length > 0 && /^[0-9a-fA-F]+$/.test(s)) {
        return Buffer.from(s, 'hex');
    }
    return raw;
}

function errorChain(e) {
    let msg = String(e && e.message !== undefined ? e.message : e);
    for (let c = e && e.cause; c; c = c.cause) {
        msg += ' <- ' + (c.message !== undefined ? c.message : String(c));
    }
    return msg;
}

function runCase(c, base) {
    const quote = c.quote_hex !== undefined ? Buffer.from(c.quote_hex, 'hex')
                                            : loadQuote(path.resolve(base, c.quote));
    const coll = c.collateral_obj !== undefined
                     ? c.collateral_obj
                     : JSON.parse(fs.readFileSync(path.resolve(base, c.collateral), 'utf8'));
    try {
        const r = lib.verify(quote, coll, c.now);
        return { case: c.case, ok: true, status: r.status, advisory_ids: r.advisory_ids };
    } catch (e) {
        return { case: c.case, ok: false, error: errorChain(e) };
    }
}

function main() {
    const file = process.argv[2];
    const text = fs.readFileSync(file || 0, 'utf8');
    const base = file ? path.dirname(path.resolve(file)) : process.cwd();
    const out = [];
    let lineNo = 0;
    for (const line of text.split('\n')) {
        lineNo++;
        if (line.trim() === '') {
            continue;
        }
        let c;
        try {
            c = JSON.parse(line);
            out.push(JSON.stringify(runCase(c, base)));
        } catch (e) {
            // Only input errors reach here (runCase catches verification errors).
            process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
            process.stderr.write(`oracle.js: case line ${lineNo}: ${errorChain(e)}\n`);
            process.exit(2);
        }
    }
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}

main();
