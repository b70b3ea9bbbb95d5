import { isTauri } from '@tauri-apps/api/core';
import { exportIpc } from './ipc';

// RFC 4180 CSV with a UTF-8 BOM, so Excel (common in Japanese offices) reads Japanese names right.
export function toCsv(header: string[], rows: (string | number | null)[][]): string {
  const esc = (v: string | number | null): string => {
    if (v === null) return '';
    const s = String(v);
    // A leading = + - @ would be a formula in a spreadsheet: quote it with a leading apostrophe.
    const safe = /^[=+\-@\t\r]/.test(s) && typeof v === 'string' ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return '\ufeff' + [header, ...rows].map((r) => r.map(esc).join(',')).join('\r\n') + '\r\n';
}

/**
 * Saves an export: inside the app, the shell writes it into the user's Downloads directory and
 * answers the file's path (WebKitGTK ignores `<a download>`); in a plain browser (the mocked
 * tests, `vite dev`) the browser downloads it and the answer is null. Every export goes through here.
 */
export async function saveExport(filename: string, text: string): Promise<string | null> {
  if (isTauri()) return (await exportIpc.saveExport(filename, text)).path;
  downloadText(filename, text);
  return null;
}

function downloadText(filename: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
