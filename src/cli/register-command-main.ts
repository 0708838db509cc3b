/**
 * Stand-alone entry for `refract register` (`node dist/src/cli/register-command-main.js …`), for images
 * and tests that run it without the main CLI's dispatcher. The exit code is set, not forced, so pino and
 * grpc-js finish flushing and closing first.
 */
import { runRegisterCommand } from "./register-command.js";

process.exitCode = await runRegisterCommand(process.argv.slice(2), process.env);
