// Run with: node --test deploy/cloudfront/   (make test-node)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SOURCE_PATH = path.join(__dirname, 'guest-page-rewrite.js');
const SOURCE = fs.readFileSync(SOURCE_PATH, 'utf8');

// CloudFront Functions have no module system: load the file as the runtime does, as a script
// that defines a global `handler`.
function loadHandler() {
    const context = vm.createContext({});
    vm.runInContext(SOURCE, context, { filename: SOURCE_PATH });
    return context.handler;
}

function viewerRequest(uri, querystring = {}) {
    return {
        version: '1.0',
        context: { eventType: 'viewer-request', distributionId: 'E2EXAMPLE' },
        viewer: { ip: '198.51.100.7' },
        request: {
            method: 'GET',
            uri: uri,
            querystring: querystring,
            headers: { host: { value: 'queenofsandiego.com' } },
            cookies: {},
        },
    };
}

const handler = loadHandler();
const rewrite = (uri) => handler(viewerRequest(uri)).uri;

test('the clean guest page URL is rewritten to the stored object', () => {
    assert.equal(rewrite('/g/xhqgmdh7k2'), '/g/xhqgmdh7k2.html');
});

test('a trailing slash is accepted', () => {
    assert.equal(rewrite('/g/xhqgmdh7k2/'), '/g/xhqgmdh7k2.html');
});

test('an id typed in capitals finds the lowercase object', () => {
    assert.equal(rewrite('/g/XHQGMDH7K2'), '/g/xhqgmdh7k2.html');
});

test('the object URL itself is left alone', () => {
    assert.equal(rewrite('/g/xhqgmdh7k2.html'), '/g/xhqgmdh7k2.html');
});

test('other paths are left alone', () => {
    for (const uri of [
        '/',
        '/index.html',
        '/g',
        '/g/',
        '/g/short',
        '/g/xhqgmdh7k2/presign',
        '/g/xhqgmdh7k2//',
        '/g/xhqgmdh7k2.html/',
        '/g/xhq-gmdh7k2',
        '/g/../secrets/xhqgmdh7k2',
        '/gallery/xhqgmdh7k2',
        '/photos/12/guest/abc.jpg',
        '/x/g/xhqgmdh7k2',
    ]) {
        assert.equal(rewrite(uri), uri, uri);
    }
});

test('an id longer than 32 characters is not a page id', () => {
    const uri = '/g/' + 'a'.repeat(33);
    assert.equal(rewrite(uri), uri);
});

test('the rest of the request passes through unchanged', () => {
    const event = viewerRequest('/g/xhqgmdh7k2', { utm_source: { value: 'email' } });
    const request = handler(event);
    assert.deepEqual(request.querystring, { utm_source: { value: 'email' } });
    assert.equal(request.headers.host.value, 'queenofsandiego.com');
    assert.equal(request.method, 'GET');
});

test('the function fits CloudFront Functions limits and uses no module system', () => {
    assert.ok(Buffer.byteLength(SOURCE) < 10 * 1024, 'CloudFront Functions are at most 10 KB');
    assert.doesNotMatch(SOURCE, /\brequire\s*\(|module\.exports|\bimport\s/);
    assert.match(SOURCE, /function handler\(event\)/);
});
