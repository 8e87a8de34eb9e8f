// Preloaded into a `ledge run` under test (node --import): a real uncaught exception from a timer,
// as a bug in any component would throw, once ledge has had time to start.
setTimeout(
  () => {
    throw new Error("injected fault");
  },
  Number(process.env.LEDGE_TEST_CRASH_AFTER_MS ?? 1500),
);
