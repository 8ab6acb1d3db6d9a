// Browser test 1: a team signs in and drives a migration from the page to completion: its
// cluster (registered, no migration yet) in the fleet, New migration (a dialog with the gate's
// options; --check-window seconds), the fleet shows it, Start (confirmed in the page's dialog), the checks and the gate, Cut over
// now (dismissed once, then confirmed), completed; what the page shows is checked at each phase
// and a screenshot is saved at each step. The page is never reloaded after sign-in, so every
// phase after the first arrives through the migration's live stream; a second tab left on the
// fleet view sees the row reach Completed through the fleet's stream, also without a reload.
//
//   node drive_migration.mjs --base-url URL --token-file F --out DIR --team T \
//        --cluster C --migration M --check-window SECONDS
import { expect, runScript } from './browser_session.mjs';
import { readToken } from './browser_session.mjs';

const FORWARD = ['created', 'replicating', 'validating', 'ready_for_cutover', 'pausing', 'fencing',
                 'draining', 'promoting', 'slot_handover', 'switching', 'verifying', 'completed'];
const ACTIONS = ['Start', 'Arm cutover…', 'Disarm', 'Cut over now', 'Roll back', 'Cancel migration'];

await runScript('drive_migration', ['team', 'cluster', 'migration', 'check-window'],
                async (s, args) => {
  const page = s.page;
  const button = (name) => page.getByTestId('actions').getByRole('button', { name, exact: true });
  const enabledActions = async () => {
    const on = [];
    for (const name of ACTIONS) if (await button(name).isEnabled()) on.push(name);
    return on;
  };
  const shownPhase = () => page.locator('.view-head .badges').getAttribute('data-phase');

  // Sign in; the fleet lists the team's cluster, with no migration yet.
  await s.signIn(readToken(args['token-file']));
  const identity = await page.getByTestId('identity').innerText();
  expect(identity.includes(args.team), `identity "${identity}" does not name team ${args.team}`);
  const row = page.getByTestId(`fleet-row-${args.cluster}`);
  await row.waitFor();
  expect((await row.innerText()).includes('none'), `fleet row before: ${await row.innerText()}`);
  await s.screenshot('fleet-no-migration');

  // New migration, from the row's button: the dialog's options, then its page (Created).
  await row.getByRole('button', { name: `New migration for ${args.cluster}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByLabel('Migration name').fill(args.migration);
  await dialog.getByLabel('Lag check window (seconds)').fill(args['check-window']);
  await s.screenshot('new-migration-dialog');
  await dialog.getByRole('button', { name: 'Create migration' }).click();
  await page.getByTestId('migration-name').filter({ hasText: args.migration }).waitFor();
  const facts = await page.getByTestId('migration-facts').innerText();
  expect(new RegExp(`check window\\s+${Number(args['check-window']).toFixed(1)} s`, 'i').test(facts),
         `the new migration's facts:\n${facts}`);
  await page.getByRole('link', { name: 'Fleet' }).first().click();
  await row.waitFor();
  const rowText = await row.innerText();
  expect(rowText.includes(args.migration) && rowText.includes('Created'),
         `fleet row for ${args.cluster} reads "${rowText}"`);
  await s.screenshot('fleet-created');

  // The filters: another phase hides the row, the team and the right phase keep it.
  await page.getByLabel('Phase').selectOption('completed');
  await row.waitFor({ state: 'detached' });
  await page.getByLabel('Phase').selectOption('created');
  await page.getByLabel('Team').selectOption(args.team);
  await row.waitFor();
  await page.getByLabel('Phase').selectOption('');
  await page.getByLabel('Team').selectOption('');

  // The second tab: the fleet, left open.
  const fleetTab = await s.newTab();
  await s.signIn(readToken(args['token-file']), fleetTab);
  await fleetTab.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
  const fleetTabRow = fleetTab.getByTestId(`fleet-row-${args.cluster}`);
  await fleetTabRow.filter({ hasText: 'Created' }).waitFor();

  // The migration view, phase Created: only Start (and Cancel) may be pressed.
  await row.getByRole('link', { name: args.migration }).click();
  await page.getByTestId('migration-name').waitFor();
  expect((await shownPhase()) === 'created', `phase shown is ${await shownPhase()}, not created`);
  const state = await page.getByTestId('migration-state').innerText();
  expect(state === 'Not started', `state before start reads "${state}"`);
  let on = await enabledActions();
  expect(on.includes('Start') && !on.includes('Cut over now'),
         `in phase created the enabled actions are [${on}]`);
  const checksText = await page.getByTestId('checks').innerText();
  expect(/run once the target replicates/.test(checksText), `checks before start: "${checksText}"`);
  await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
  // Record every phase the page shows from now on (the stream may skip fast ones).
  await page.evaluate(() => {
    window.phasesShown = [];
    const note = () => {
      const p = document.querySelector('.view-head .badges')?.dataset.phase;
      if (p && window.phasesShown[window.phasesShown.length - 1] !== p) window.phasesShown.push(p);
    };
    note();
    new MutationObserver(note).observe(document.getElementById('main'),
                                       { subtree: true, attributes: true, childList: true });
  });
  await s.screenshot('migration-created');

  // Start, confirmed in the page's dialog.
  await button('Start').click();
  await dialog.waitFor();
  expect((await dialog.innerText()).includes('Start this migration?'), 'the start dialog');
  await s.screenshot('start-confirmation');
  await dialog.getByRole('button', { name: 'Start' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByTestId('notice').filter({ hasText: 'requested' }).waitFor();
  s.log('start confirmed');

  // Replication and validation, then the gate: waiting for the cutover.
  await page.waitForFunction(
    () => ['validating', 'ready_for_cutover'].includes(
      document.querySelector('.view-head .badges')?.dataset.phase),
    null, { timeout: 120000 });
  if ((await shownPhase()) === 'validating') {
    on = await enabledActions();
    expect(!on.includes('Cut over now') && !on.includes('Start'),
           `while validating the enabled actions are [${on}]`);
    await s.screenshot('migration-validating');
  }
  await page.getByTestId('migration-state').filter({ hasText: 'Waiting for cutover' })
    .waitFor({ timeout: 120000 });
  expect((await shownPhase()) === 'ready_for_cutover', 'the gate shows ready_for_cutover');
  on = await enabledActions();
  expect(on.includes('Cut over now') && !on.includes('Start'),
         `at the gate the enabled actions are [${on}]`);
  const checks = page.getByTestId('checks').locator('li.check');
  const nChecks = await checks.count();
  expect(nChecks >= 3, `only ${nChecks} checks shown at the gate`);
  const verdicts = await checks.evaluateAll((l) => l.map((e) => e.dataset.verdict));
  expect(!verdicts.includes('fail'), `a failing check at the gate: ${verdicts}`);
  // A passing check's evidence is one click away: open the lag gate's.
  const lagCheck = page.getByTestId('check-replication_lag');
  await lagCheck.getByText('Evidence and query').click();
  await lagCheck.locator('dl.evidence').waitFor();
  const lagEvidence = await lagCheck.locator('dl.evidence').innerText();
  expect(/samples/i.test(lagEvidence), `the lag check's evidence reads "${lagEvidence}"`);
  expect(await lagCheck.locator('pre.query').isVisible(), 'the lag check shows no query');
  const timeline = page.getByTestId('timeline');
  for (const p of ['replicating', 'validating']) {
    const step = timeline.locator(`li[data-phase="${p}"]`);
    expect((await step.getAttribute('data-status')) === 'done', `timeline: ${p} is not done`);
    const time = await step.locator('.step-time').innerText();
    expect(/\d/.test(time), `timeline: ${p} shows no duration ("${time}")`);
  }
  // The plan: its steps, or the server's reason why there is none (a build without the
  // cutover planner answers 501), never an empty section.
  const plan = page.getByTestId('plan');
  await plan.locator('ol.plan-steps li, [data-testid="plan-unavailable"]').first().waitFor();
  const planText = await plan.innerText();
  expect(planText.trim().length > 0, 'the plan section is empty');
  s.log(`plan at the gate: ${planText.split('\n').filter(Boolean).slice(0, 3).join(' | ')}`);
  const lagCaption = await page.getByTestId('lag-chart').locator('figcaption').innerText();
  const walCaption = await page.getByTestId('wal-rate-chart').locator('figcaption').innerText();
  s.log(`charts at the gate: ${lagCaption} / ${walCaption}`);
  await s.screenshot('migration-ready-for-cutover');

  // Cut over now: dismissed once (nothing happens), then confirmed.
  await button('Cut over now').click();
  await dialog.waitFor();
  expect((await dialog.innerText()).includes('Cut over now?'), 'the cutover dialog');
  await s.screenshot('cutover-confirmation');
  await dialog.getByRole('button', { name: 'Go back' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.waitForTimeout(1000);
  expect((await shownPhase()) === 'ready_for_cutover', 'dismissing the dialog cut over');
  await button('Cut over now').click();
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cut over now' }).click();
  await dialog.waitFor({ state: 'hidden' });
  s.log('cutover confirmed');

  // Completed: every step done, no action left, the event log and facts say so.
  await page.getByTestId('migration-state').filter({ hasText: 'Completed' })
    .waitFor({ timeout: 120000 });
  const shown = await page.evaluate(() => window.phasesShown);
  s.log(`phases seen: ${shown.join(' ')}`);
  let last = -1;
  for (const p of shown) {
    const i = FORWARD.indexOf(p);
    expect(i >= 0, `the page showed phase ${p}`);
    // validating and ready_for_cutover may alternate while the gate is judged
    expect(i >= last || (p === 'validating' && last === 3), `phases out of order: ${shown}`);
    last = i;
  }
  expect(shown[0] === 'created' && shown[shown.length - 1] === 'completed',
         `phases seen ${shown}`);
  on = await enabledActions();
  expect(on.length === 0, `after completion the enabled actions are [${on}]`);
  const statuses = await timeline.locator('li').evaluateAll((l) => l.map((e) => e.dataset.status));
  expect(statuses.every((st) => st === 'done'), `timeline after completion: ${statuses}`);
  const events = await page.getByTestId('events').innerText();
  expect(events.includes('Completed') && events.includes('Ready for cutover'),
         `event log after completion:\n${events}`);
  const factsAfter = await page.getByTestId('migration-facts').innerText();
  expect(/final lsn/i.test(factsAfter), `facts after completion:\n${factsAfter}`);
  await s.screenshot('migration-completed');

  // The fleet tab, never reloaded, followed the migration to its end.
  await fleetTabRow.filter({ hasText: 'Completed' }).waitFor();
  await s.screenshot('fleet-tab-live-completed', fleetTab);

  // Back in the fleet, the row says Completed.
  await page.getByRole('link', { name: 'Fleet' }).first().click();
  await row.filter({ hasText: 'Completed' }).waitFor();
  await s.screenshot('fleet-completed');
  s.checkPageErrors();
});
