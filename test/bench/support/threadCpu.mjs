/**
 * Preloaded into a benchmarked command (`node --import <this file>`): when the process exits,
 * it writes the CPU each of its threads used to the file named by THREAD_CPU_FILE, as JSON
 * `{ main: {user, system}, others: {user, system} }` in seconds. "others" are V8's helper
 * threads (optimizing compiler, garbage collector) and libuv's pool. Plain JavaScript, so
 * that the command runs under plain Node as a user runs it. Linux only (/proc).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const TICKS_PER_SECOND = 100;

/** utime and stime of one thread, from /proc/self/task/<tid>/stat (fields 14 and 15). */
const cpuOf = (tid) => {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are counted from ") ".
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return {
    user: Number(fields[11]) / TICKS_PER_SECOND,
    system: Number(fields[12]) / TICKS_PER_SECOND,
  };
};

process.on('exit', () => {
  const file = process.env.THREAD_CPU_FILE;
  if (file === undefined) return;
  const main = cpuOf(String(process.pid));
  const others = { user: 0, system: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    if (tid === String(process.pid)) continue;
    const cpu = cpuOf(tid);
    others.user += cpu.user;
    others.system += cpu.system;
  }
  writeFileSync(file, JSON.stringify({ main, others }));
});
