/* SPDX-License-Identifier: Apache-2.0 */
/* The `events` subcommands (tools/events_replay.c): dstack runtime events. */
#ifndef DGA_TOOLS_EVENTS_H
#define DGA_TOOLS_EVENTS_H

int cmd_events_replay(int argc, char **argv);
int cmd_events_emit(int argc, char **argv);
int cmd_events_policy_hash(int argc, char **argv);

#endif
