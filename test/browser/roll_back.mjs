// Browser test 3: a migration rolled back from the page. Started from its page, at the gate
// Roll back is confirmed in the dialog (the target's writes not kept: nothing was promoted);
// the page shows Rolled back, the timeline the rollback after the gate with the cutover's
// phases not reached, no action left; the fleet offers a new migration for the cluster.
//
//   node roll_back.mjs --base-url URL --token-file F --out DIR --cluster C --migration M
import { expect, readToken, runScript } from './browser_session.mjs';

await runScript('roll_back', ['cluster', 'migration'], async (s, args) => {
  const page = s.page;
  const button = (name) => page.getByTestId('actions').getByRole('button', { name, exact: true });
  const dialog = page.getByRole('dialog');

  await s.signIn(readToken(args['token-file']));
  await page.goto(`${s.baseUrl}/#/migrations/${encodeURIComponent(args.migration)}`);
  await page.getByTestId('migration-name').filter({ hasText: args.migration }).waitFor();
  expect(await button('Roll back').isDisabled(), 'Roll back is enabled before the start');

  await button('Start').click();
  await dialog.getByRole('button', { name: 'Start' }).click();
  await page.getByTestId('migration-state').filter({ hasText: 'Waiting for cutover' })
    .waitFor({ timeout: 120000 });
  expect(await button('Roll back').isEnabled(), 'Roll back is disabled at the gate');

  await button('Roll back').click();
  await dialog.waitFor();
  expect((await dialog.innerText()).includes('Roll back this migration?'), 'the rollback dialog');
  const keep = dialog.getByLabel(/Keep the target's writes/);
  expect(!(await keep.isChecked()), 'keeping the target\'s writes is the default');
  await s.screenshot('rollback-confirmation');
  await dialog.getByRole('button', { name: 'Roll back' }).click();
  await dialog.waitFor({ state: 'hidden' });
  s.log('rollback confirmed');

  await page.getByTestId('migration-state').filter({ hasText: 'Rolled back' })
    .waitFor({ timeout: 120000 });
  const steps = await page.getByTestId('timeline').locator('li')
    .evaluateAll((l) => l.map((e) => `${e.dataset.phase}:${e.dataset.status}`));
  s.log(`timeline: ${steps.join(' ')}`);
  for (const expected of ['ready_for_cutover:done', 'promoting:skipped', 'completed:skipped',
                          'rolling_back:done', 'rolled_back:done']) {
    expect(steps.includes(expected), `timeline lacks ${expected}: ${steps.join(' ')}`);
  }
  const enabled = await page.getByTestId('actions').getByRole('button')
    .evaluateAll((l) => l.filter((b) => !b.disabled && !b.hidden).map((b) => b.textContent));
  expect(enabled.length === 0, `after the rollback the enabled actions are [${enabled}]`);
  const events = await page.getByTestId('events').innerText();
  expect(events.includes('Rolling back') && events.includes('Rolled back'),
         `event log after the rollback:\n${events}`);
  await s.screenshot('migration-rolled-back');

  await page.getByRole('link', { name: 'Fleet' }).first().click();
  const row = page.getByTestId(`fleet-row-${args.cluster}`);
  await row.filter({ hasText: 'Rolled back' }).waitFor();
  await row.getByRole('button', { name: `New migration for ${args.cluster}` }).waitFor();
  await s.screenshot('fleet-rolled-back');
  s.checkPageErrors();
});
