import { generateSchedule } from "./events.js";
const s = generateSchedule(Number(process.argv[2]));
console.log(JSON.stringify({ ...s, events: s.events.slice(0, Number(process.argv[3] ?? 999)) }));
