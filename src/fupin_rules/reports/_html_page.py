"""The fixed parts of the HTML report's page: its style sheet and script, and text escaping."""

from __future__ import annotations

import html

__all__: list[str] = []

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;color:#1f2933;background:#f5f7fa;line-height:1.45}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 20px}
header{padding-top:16px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px}
small.en,.en{color:#65727f;font-size:12px;font-weight:normal}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;font-size:14px}
dl.prov dt{color:#52606d}dl.prov dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 16px;min-width:140px;box-shadow:0 1px 3px #0002}
.card b{display:block;font-size:28px}.card.fail b{color:#c62828}.card.unknown b{color:#b7791f}
.warn{background:#fff4e5;border-left:4px solid #c62828;padding:6px 10px}
section{background:#fff;border-radius:8px;padding:4px 18px 14px;margin:16px 0;box-shadow:0 1px 3px #0001}
svg{max-width:100%;height:auto;font-family:inherit}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.nw{white-space:nowrap}td.x{min-width:4em}
.v{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px;white-space:nowrap}
.v.fail{background:#c62828}.v.unknown{background:#b7791f}.v.pass{background:#2e7d32}
.v.assumed{background:#6a1b9a;margin-left:4px}
details.drill{border:1px solid #e4e7eb;border-radius:6px;margin:6px 0;padding:2px 8px}
details.drill>summary{cursor:pointer;padding:4px 0;font-weight:600}
pre{white-space:pre-wrap;font-size:12px;background:#f8fafc;padding:6px;margin:4px 0}
.more{color:#52606d;font-style:italic}
.tools{display:flex;gap:8px;align-items:center;margin:6px 0}
.tools input{padding:5px 8px;font-size:14px;min-width:280px}
.legend span{display:inline-block;width:11px;height:11px;margin:0 4px 0 12px;vertical-align:-1px}
footer{color:#65727f;font-size:12px;padding-bottom:24px}
"""

_JS = """
(function(){
var q=document.getElementById('q');
function apply(){var t=q.value.trim().toLowerCase();
document.querySelectorAll('details.drill').forEach(function(d){var n=0;
d.querySelectorAll('tbody tr').forEach(function(r){
var ok=!t||r.textContent.toLowerCase().indexOf(t)>=0;r.hidden=!ok;if(ok){n++;}});
var s=d.querySelector('summary').textContent.toLowerCase();
d.hidden=!(!t||n>0||s.indexOf(t)>=0);if(t&&n>0){d.open=true;}});}
q.addEventListener('input',apply);
document.getElementById('open-all').addEventListener('click',function(){
document.querySelectorAll('details.drill').forEach(function(d){d.open=true;});});
document.getElementById('close-all').addEventListener('click',function(){
document.querySelectorAll('details.drill').forEach(function(d){d.open=false;});});
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(n: int) -> str:
    return f"{n:,}"
