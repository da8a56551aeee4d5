/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-tool-run.h: the calls one assistant message asked for, from the
 * approval card to their stored results.
 *
 * A tool loop is replies and runs taking turns: a RillReply streams an
 * assistant message (with the offered tools in its request); when it ends
 * complete with calls, a RillToolRun takes them; when every call is decided
 * and done, the next RillReply answers the conversation as it stands, whose
 * history now carries the calls and their results. The window drives the
 * turns and counts the steps against "tool-step-limit".
 *
 * A run writes one message per call, role 'tool', following the assistant
 * message in a chain (assistant → result 1 → result 2 → …), each with its
 * tool_call_id, tool_server and tool_name, in one transaction as the run
 * starts, status 'streaming' while undecided or running. Every ending goes
 * through one finalize path per message, like a reply's:
 *   complete     the tool answered (is_error false);
 *   failed       is_error, a JSON-RPC error, the server gone or crashed,
 *                the tool no longer offered; the content says why in words;
 *   denied       the person declined; the content says so, and is what the
 *                model is sent;
 *   stopped      Stop, Escape, closing the window, quitting, a signal,
 *                before the call was decided or while it ran (the server
 *                is sent notifications/cancelled);
 *   interrupted  a row left 'streaming' by a crash, at the next start.
 * The content stored is the whole result; what is sent to the model is cut
 * at "tool-result-max-bytes", saying so. Image content is stored as an
 * attachment of the tool message.
 *
 * Calls a person always allows run at once, without waiting. */
#pragma once

#include "rill-store.h"
#include "rill-stream-parser.h"
#include "rill-toolbox.h"

G_BEGIN_DECLS

typedef enum {
  RILL_TOOL_STEP_WAITING, /* for the person to allow or deny */
  RILL_TOOL_STEP_RUNNING,
  RILL_TOOL_STEP_DONE,    /* its row is final: see its status */
} RillToolStepState;

#define RILL_TYPE_TOOL_STEP_STATE (rill_tool_step_state_get_type ())
GType rill_tool_step_state_get_type (void) G_GNUC_CONST;

/* The content of a denied row and of a stopped one: what the model is
 * sent, so fixed English, like the API's own words, not translated. */
#define RILL_TOOL_DENIED_TEXT  "The person declined this call."
#define RILL_TOOL_STOPPED_TEXT "The call was stopped."

#define RILL_TYPE_TOOL_STEP (rill_tool_step_get_type ())
G_DECLARE_FINAL_TYPE (RillToolStep, rill_tool_step, RILL, TOOL_STEP, GObject)

/* Properties (notify on change): "state", "status", "content", "progress"
 * (0..1, or -1 when the server gives no total), "progress-message".
 * "status" leaves 'streaming' (and "content" is set) as soon as the step's
 * ending is known; "state" becomes DONE once its row's final write
 * returned. */
gint64             rill_tool_step_get_message_id     (RillToolStep *self);
const char        *rill_tool_step_get_call_id        (RillToolStep *self);
const char        *rill_tool_step_get_server         (RillToolStep *self);
const char        *rill_tool_step_get_tool           (RillToolStep *self);
/* The argument text exactly as the model sent it, and as it will be sent
 * to the server. */
const char        *rill_tool_step_get_arguments      (RillToolStep *self);
/* The same, pretty-printed for the card; the text as sent when it is not
 * valid JSON (the call then fails without being sent). */
char              *rill_tool_step_dup_arguments_pretty (RillToolStep *self);
RillToolStepState  rill_tool_step_get_state          (RillToolStep *self);
RillStatus         rill_tool_step_get_status         (RillToolStep *self);
const char        *rill_tool_step_get_content        (RillToolStep *self);
/* RillMcpContent of the result; NULL until it arrived. */
RillMcpResult     *rill_tool_step_get_result         (RillToolStep *self);
double             rill_tool_step_get_progress       (RillToolStep *self);
const char        *rill_tool_step_get_progress_message (RillToolStep *self);
void               rill_tool_step_allow              (RillToolStep *self);
/* Allows it, and every later call of the same tool on the same server. */
void               rill_tool_step_always_allow       (RillToolStep *self);
void               rill_tool_step_deny               (RillToolStep *self);

#define RILL_TYPE_TOOL_RUN (rill_tool_run_get_type ())
G_DECLARE_FINAL_TYPE (RillToolRun, rill_tool_run, RILL, TOOL_RUN, GObject)

/* @calls are RillToolCall of assistant message @message_id, @offered the
 * RillOfferedTool its request offered (a call to a name not among them
 * fails in words). @max_result_bytes bounds what is sent back. */
RillToolRun  *rill_tool_run_new             (RillStore    *store,
                                             RillToolbox  *toolbox,
                                             gint64        conversation_id,
                                             gint64        message_id,
                                             GPtrArray    *calls,
                                             GPtrArray    *offered,
                                             gsize         max_result_bytes);
/* Writes the rows, then emits "started"; calls always allowed start. */
void          rill_tool_run_start           (RillToolRun  *self);
/* Every step not done ends 'stopped'; running calls are cancelled. */
void          rill_tool_run_stop            (RillToolRun  *self);
gint64        rill_tool_run_get_conversation_id (RillToolRun *self);
gint64        rill_tool_run_get_message_id  (RillToolRun  *self);
/* RillToolStep, in the order of the calls; empty until "started". */
GPtrArray    *rill_tool_run_get_steps       (RillToolRun  *self);
/* TRUE once every row is final ("finished" was emitted). */
gboolean      rill_tool_run_is_finished     (RillToolRun  *self);
/* TRUE when it finished with no step stopped: the loop may go on. */
gboolean      rill_tool_run_can_continue    (RillToolRun  *self);
/* Why a row could not be written, when it could not; the steps are kept. */
const GError *rill_tool_run_get_store_error (RillToolRun  *self);

/* Signals: "started", "step-changed" (RillToolStep), "finished". */

G_END_DECLS
