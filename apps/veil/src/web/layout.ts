/**
 * The server-rendered pages' frame: one HTML document, inline styles only (nothing loads from elsewhere: works
 * offline), a skip link, landmarks, visible focus, high-contrast colours (WCAG AA), labels on every field.
 *
 * Example:
 *   sendHtml(res, 200, page({ title: 'Your imaging data', body: '<p>...</p>' }));
 */
export function esc(v: unknown): string {
  return String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fff;line-height:1.5}
header,main,footer{max-width:60rem;margin:0 auto;padding:1rem}
header{border-bottom:2px solid #1a4d8f}
header p{margin:0;font-weight:600;color:#1a4d8f}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
a{color:#0b4a9e}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #b35c00;outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #999;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f8}
button{font:inherit;padding:.4rem .9rem;border:2px solid #1a4d8f;background:#1a4d8f;color:#fff;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:#1a4d8f}
input,select{font:inherit;padding:.35rem;border:2px solid #555;border-radius:4px}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
.card{border:1px solid #999;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}
.ok{color:#1b5e20;font-weight:600}
.warn{color:#8a1c00;font-weight:600}
.muted{color:#444}
form.inline{display:inline}
@media print{button,form{display:none}header{border:0}}
`;

export function page(o: { title: string; body: string; site?: string; nav?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p>${esc(o.site ?? 'Veil privacy gateway')}</p>${o.nav ? `<nav aria-label="Main">${o.nav}</nav>` : ''}</header>
<main id="main">
<h1>${esc(o.title)}</h1>
${o.body}
</main>
<footer class="muted"><p>Served by Veil. No tracking, no external resources.</p></footer>
</body>
</html>
`;
}

export function date(t: number | null | undefined): string {
  if (t === null || t === undefined) return '';
  return new Date(t).toISOString().slice(0, 10);
}
