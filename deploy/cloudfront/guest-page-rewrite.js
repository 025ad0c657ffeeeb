// CloudFront Function (runtime cloudfront-js-2.0), viewer-request event of the guest-pages
// distribution. Guests get a clean link, /g/<page id>; the object in S3 is g/<page id>.html.
// Rewrites /g/<id> and /g/<id>/ to /g/<id>.html; every other path is left alone.
// Page ids are 10-32 lowercase letters and digits; an id typed in capitals is lowercased.
var GUEST_PAGE = /^\/g\/([A-Za-z0-9]{10,32})\/?$/;

function handler(event) {
    var request = event.request;
    var match = GUEST_PAGE.exec(request.uri);
    if (match) {
        request.uri = '/g/' + match[1].toLowerCase() + '.html';
    }
    return request;
}
