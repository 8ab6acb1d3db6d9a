// Browser test 2: another team's migration is not visible. Signed in with one team's token,
// the fleet lists that team's own cluster and migration (so the page works and the test can
// fail) but nothing of the other team's; the other migration's URL shows "not found", exactly
// like a name that does not exist; a refused token is told so on the sign-in form. Then the
// platform team signs in (after signing out) and sees both teams' clusters, the team filter
// narrowing them: the other migration was hidden, not missing.
//
//   node other_team_hidden.mjs --base-url URL --token-file F --out DIR \
//        --own-cluster C --own-migration M --other-cluster C2 --other-migration M2 \
//        --other-team T2 --platform-token-file F2
import { expect, readToken, runScript } from './browser_session.mjs';

await runScript('other_team_hidden',
                ['own-cluster', 'own-migration', 'other-cluster', 'other-migration', 'other-team',
                 'platform-token-file'],
                async (s, args) => {
  const page = s.page;

  // A token the server does not know: the form says so and nothing else is shown.
  await page.goto(`${s.baseUrl}/`);
  await page.getByLabel('API token').fill(`pgs_${'A'.repeat(43)}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('sign-in-error').filter({ hasText: 'not accepted' }).waitFor();
  expect(await page.getByTestId('identity').isHidden(), 'an unknown token shows an identity');
  await s.screenshot('unknown-token-refused');

  await s.signIn(readToken(args['token-file']));
  const table = page.getByTestId('fleet-table');
  await page.getByTestId(`fleet-row-${args['own-cluster']}`).waitFor();
  await page.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
  const fleet = await table.innerText();
  expect(fleet.includes(args['own-migration']), `own migration missing from the fleet:\n${fleet}`);
  expect(!fleet.includes(args['other-cluster']) && !fleet.includes(args['other-migration']),
         `the other team's cluster or migration is in the fleet:\n${fleet}`);
  const teams = await page.getByLabel('Team').locator('option').allInnerTexts();
  s.log(`team filter offers: ${teams.join(', ')}`);
  await s.screenshot('fleet-own-team-only');

  // The other team's migration by its URL: not found, as for a name that does not exist.
  const notFound = async (name) => {
    await page.goto(`${s.baseUrl}/#/migrations/${encodeURIComponent(name)}`);
    await page.getByTestId('not-found').waitFor();
    const text = await page.getByTestId('not-found').innerText();
    expect(text.includes('Migration not found'), `not-found view for ${name}: ${text}`);
    expect((await page.getByTestId('migration-name').count()) === 0,
           `the migration view opened for ${name}`);
    return text.replaceAll(name, 'NAME');
  };
  const otherText = await notFound(args['other-migration']);
  await s.screenshot('other-team-migration-not-found');
  const missingText = await notFound(`${args['other-migration']}-does-not-exist`);
  expect(otherText === missingText,
         `another team's migration reads differently from a missing one:\n${otherText}\n---\n${missingText}`);

  // The own migration's URL does open (the not-found above is not the page failing).
  await page.goto(`${s.baseUrl}/#/migrations/${encodeURIComponent(args['own-migration'])}`);
  await page.getByTestId('migration-name').filter({ hasText: args['own-migration'] }).waitFor();
  const body = await page.locator('body').innerText();
  expect(!body.includes(args['other-cluster']) && !body.includes(args['other-migration']),
         'the own migration\'s page names the other team\'s cluster or migration');
  await s.screenshot('own-migration-visible');

  // Signed out, then in as the platform team: both clusters; the team filter narrows them.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
  expect(await page.evaluate(() => sessionStorage.length) === 0, 'the token outlived sign-out');
  await s.signIn(readToken(args['platform-token-file']));
  const own = page.getByTestId(`fleet-row-${args['own-cluster']}`);
  const other = page.getByTestId(`fleet-row-${args['other-cluster']}`);
  await own.waitFor();
  await other.waitFor();
  await page.getByLabel('Team').selectOption(args['other-team']);
  await own.waitFor({ state: 'detached' });
  expect(await other.isVisible(), 'the team filter hid the team\'s own cluster');
  await page.getByLabel('Team').selectOption('');
  await own.waitFor();
  await s.screenshot('platform-fleet-all-teams');
  s.checkPageErrors();
});
