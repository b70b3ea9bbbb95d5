// Steps the packer test files share.
import assert from 'node:assert/strict';
import { openApp, scan } from './support.mjs';

/** The packer screen, signed in (English unless `config` says otherwise). */
export async function packerPage(env, config = {}) {
  const { page, context, problems } = await openApp(env.browser, env.base, { loggedIn: true, role: 'packer', locale: 'en', ...config });
  await page.getByTestId('prompt').waitFor();
  return { page, context, problems };
}

/** Opens ord-2 and scans its lot-tracked item without a lot: the screen asks for the lot. */
export async function untilLotAsked(page) {
  await scan(page, 'PL0002');
  await page.getByTestId('order-id').waitFor();
  await scan(page, '4901234567917');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByTestId('prompt').innerText(), /scan the lot barcode for SNACK-SENBEI/);
}

/** With ord-1 open: packs its three items and adds a 900 g package; the carrier step has focus. */
export async function untilCarrierStep(page) {
  for (const code of ['4901234567894', '4901234567894', '4901234567900']) await scan(page, code);
  await page.getByTestId('package-form').waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.type('900');
  await page.keyboard.press('Enter');
  await page.getByTestId('carrier-form').waitFor();
}
