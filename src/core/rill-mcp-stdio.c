/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-mcp-stdio.c: an MCP server as a program, one JSON message a line.
 *
 * Its stdin takes the messages through a queue (one write in flight at a
 * time, as GOutputStream requires); its stdout is read line by line, and a
 * line that is not JSON is logged and remembered for the words of a
 * failure; its stderr is read all along, and its last lines are kept for
 * the same words. A RillMcpChild lives apart from the client: reads and the
 * wait hold it, and once the client lets go (child->self NULL) they read on
 * to the end and drop what comes, so the program never blocks on a full
 * pipe and the stop still learns when it is gone.
 *
 * The end of a program is known when its wait returns; its last words on
 * stderr may arrive just after, so the failure is written once both pipes
 * reached their end, or a moment later at most. */

#include "rill-mcp-client-private.h"

#include <glib/gi18n-lib.h>
#include <signal.h>
#include <string.h>

#define STDERR_LINES_KEPT 20
#define STDERR_LINE_MAX 1000
#define GONE_GRACE_MS 1000

struct _RillMcpChild
{
  gatomicrefcount   ref_count;
  RillMcpClient    *self;      /* borrowed; NULL once detached */
  GSubprocess      *process;
  GOutputStream    *stdin_pipe;
  GDataInputStream *stdout_reader;
  GDataInputStream *stderr_reader;
  GCancellable     *write_cancellable;
  GQueue            writes;    /* GBytes */
  GBytes           *writing;   /* the write in flight */
  GQueue            stderr_lines; /* char *, the last ones */
  char             *garbage;   /* the first line on stdout that was not JSON */
  gboolean          exited;
  gboolean          stdout_done;
  gboolean          stderr_done;
  guint             grace_id;
  GTask            *stop_task;
  guint             stop_stage;
  guint             stop_timer_id;
};

static RillMcpChild *
child_ref (RillMcpChild *child)
{
  g_atomic_ref_count_inc (&child->ref_count);
  return child;
}

static void
child_unref (RillMcpChild *child)
{
  if (!g_atomic_ref_count_dec (&child->ref_count))
    return;
  g_assert (child->self == NULL);
  g_clear_handle_id (&child->grace_id, g_source_remove);
  g_clear_handle_id (&child->stop_timer_id, g_source_remove);
  g_clear_object (&child->process);
  g_clear_object (&child->stdin_pipe);
  g_clear_object (&child->stdout_reader);
  g_clear_object (&child->stderr_reader);
  g_clear_object (&child->write_cancellable);
  g_clear_pointer (&child->writing, g_bytes_unref);
  g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&child->stderr_lines, g_free);
  g_free (child->garbage);
  g_assert (child->stop_task == NULL);
  g_free (child);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RillMcpChild, child_unref)

static void write_next (RillMcpChild *child);

static void
write_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  g_autoptr(RillMcpChild) child = data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&child->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      /* A program that exited closes the pipe: its wait says the rest. */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("writing to an MCP server: %s", error->message);
      g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
    }
  /* Detached while writing: the close waited for this write to end. */
  if (child->self == NULL)
    {
      g_output_stream_close (child->stdin_pipe, NULL, NULL);
      return;
    }
  write_next (child);
}

static void
write_next (RillMcpChild *child)
{
  if (child->writing != NULL || g_queue_is_empty (&child->writes))
    return;
  /* write_all_async copies nothing: the bytes live until the write ends. */
  child->writing = g_queue_pop_head (&child->writes);
  g_output_stream_write_all_async (child->stdin_pipe,
                                   g_bytes_get_data (child->writing, NULL),
                                   g_bytes_get_size (child->writing),
                                   G_PRIORITY_DEFAULT, child->write_cancellable, write_cb,
                                   child_ref (child));
}

void
_rill_mcp_child_send (RillMcpChild *child,
                      const char   *line)
{
  g_queue_push_tail (&child->writes, g_bytes_new (line, strlen (line)));
  write_next (child);
}

/* "its last lines on stderr" for a failure, or "". */
char *
_rill_mcp_child_describe (RillMcpChild *child)
{
  GString *text = g_string_new (NULL);

  if (child->garbage != NULL)
    {
      g_string_append_c (text, '\n');
      g_string_append_printf (text, _("It wrote something other than JSON: %s"), child->garbage);
    }
  if (child->stderr_lines.length > 0)
    {
      g_string_append_c (text, '\n');
      g_string_append (text, _("Its last lines on stderr:"));
      for (GList *l = child->stderr_lines.head; l != NULL; l = l->next)
        g_string_append_printf (text, "\n%s", (char *) l->data);
    }
  return g_string_free (text, FALSE);
}

static void
child_gone (RillMcpChild *child)
{
  RillMcpClient *self = child->self;
  g_autofree char *lines = NULL;
  g_autofree char *how = NULL;

  g_clear_handle_id (&child->grace_id, g_source_remove);
  if (self == NULL)
    return;
  if (!g_subprocess_get_if_signaled (child->process))
    how = g_strdup_printf (_("MCP server “%s” exited with status %d."),
                           self->server->name, g_subprocess_get_exit_status (child->process));
  else
    how = g_strdup_printf (_("MCP server “%s” was ended by signal %d."),
                           self->server->name, g_subprocess_get_term_sig (child->process));
  lines = _rill_mcp_child_describe (child);
  _rill_mcp_client_fail (self, g_strconcat (how, lines, NULL));
}

static gboolean
grace_cb (gpointer data)
{
  RillMcpChild *child = data;

  child->grace_id = 0;
  child_gone (child);
  return G_SOURCE_REMOVE;
}

/* Once the program exited and both pipes ended (or a moment after it
 * exited: a grandchild may hold them open). */
static void
child_check_gone (RillMcpChild *child)
{
  if (!child->exited || child->self == NULL)
    return;
  if (child->stdout_done && child->stderr_done)
    child_gone (child);
  else if (child->grace_id == 0)
    child->grace_id = g_timeout_add_full (G_PRIORITY_DEFAULT, GONE_GRACE_MS, grace_cb,
                                          child_ref (child), (GDestroyNotify) child_unref);
}

static void stop_done (RillMcpChild *child);

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  g_autoptr(RillMcpChild) child = data;
  g_autoptr(GError) error = NULL;

  /* Not cancellable: it always ends, when the program does. */
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, &error);
  child->exited = TRUE;
  if (child->stop_task != NULL)
    stop_done (child);
  child_check_gone (child);
}

static void read_stdout (RillMcpChild *child);
static void read_stderr (RillMcpChild *child);

static void
stdout_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(RillMcpChild) child = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonNode) message = NULL;
  gsize len;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len,
                                               &error);
  if (line == NULL)
    {
      if (error != NULL)
        g_debug ("reading an MCP server's stdout: %s", error->message);
      child->stdout_done = TRUE;
      child_check_gone (child);
      return;
    }
  if (len > 0 && line[len - 1] == '\r')
    line[--len] = '\0';
  /* Detached: read on to the end, so the program never blocks writing. */
  if (child->self != NULL && len > 0)
    {
      if (g_utf8_validate (line, len, NULL))
        message = json_from_string (line, NULL);
      if (message == NULL || !JSON_NODE_HOLDS_OBJECT (message))
        {
          g_autofree char *valid = g_utf8_make_valid (line, len);

          g_message ("MCP server “%s” wrote something other than JSON: %.200s",
                     child->self->server->name, valid);
          if (child->garbage == NULL)
            child->garbage = g_utf8_substring (valid, 0, MIN (g_utf8_strlen (valid, -1), 200));
        }
      else
        {
          /* An answer may let the last caller go: not in the middle. */
          g_autoptr(RillMcpClient) hold = g_object_ref (child->self);

          _rill_mcp_client_handle_message (hold, message);
        }
    }
  read_stdout (child);
}

static void
read_stdout (RillMcpChild *child)
{
  g_data_input_stream_read_line_async (child->stdout_reader, G_PRIORITY_DEFAULT, NULL,
                                       stdout_cb, child_ref (child));
}

static void
stderr_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(RillMcpChild) child = data;
  g_autoptr(GError) error = NULL;
  char *line;
  gsize len;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);
  if (line == NULL)
    {
      child->stderr_done = TRUE;
      child_check_gone (child);
      return;
    }
  /* Kept as text whatever the program wrote, cut to a readable length. */
  if (!g_utf8_validate (line, len, NULL))
    {
      char *valid = g_utf8_make_valid (line, len);

      g_free (line);
      line = valid;
    }
  if (strlen (line) > STDERR_LINE_MAX)
    {
      char *cut = g_utf8_substring (line, 0, STDERR_LINE_MAX / 4);

      g_free (line);
      line = g_strconcat (cut, "…", NULL);
      g_free (cut);
    }
  if (child->self != NULL)
    g_debug ("MCP server “%s”: %s", child->self->server->name, line);
  g_queue_push_tail (&child->stderr_lines, line);
  while (child->stderr_lines.length > STDERR_LINES_KEPT)
    g_free (g_queue_pop_head (&child->stderr_lines));
  /* Read to the end even when detached: the stop and the failure wait
   * for it, and a full pipe would block the program. */
  read_stderr (child);
}

static void
read_stderr (RillMcpChild *child)
{
  g_data_input_stream_read_line_async (child->stderr_reader, G_PRIORITY_DEFAULT, NULL,
                                       stderr_cb, child_ref (child));
}

RillMcpChild *
_rill_mcp_child_spawn (RillMcpClient  *self,
                       RillMcpServer  *server,
                       GError        **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) local_error = NULL;
  RillMcpChild *child;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
                                        | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; server->env[i] != NULL; i++)
    {
      const char *eq = strchr (server->env[i], '=');
      g_autofree char *name = NULL;

      if (eq == NULL)
        continue;
      name = g_strndup (server->env[i], eq - server->env[i]);
      g_subprocess_launcher_setenv (launcher, name, eq + 1, TRUE);
    }
  g_ptr_array_add (argv, server->command);
  for (guint i = 0; server->args[i] != NULL; i++)
    g_ptr_array_add (argv, server->args[i]);
  g_ptr_array_add (argv, NULL);

  child = g_new0 (RillMcpChild, 1);
  g_atomic_ref_count_init (&child->ref_count);
  child->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                 &local_error);
  if (child->process == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("MCP server “%s” could not be started: %s"),
                   self->server->name, local_error->message);
      child_unref (child);
      return NULL;
    }
  child->self = self;
  child->write_cancellable = g_cancellable_new ();
  child->stdin_pipe = g_object_ref (g_subprocess_get_stdin_pipe (child->process));
  child->stdout_reader = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child->process));
  child->stderr_reader = g_data_input_stream_new (g_subprocess_get_stderr_pipe (child->process));
  g_data_input_stream_set_newline_type (child->stdout_reader, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_data_input_stream_set_newline_type (child->stderr_reader, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  g_subprocess_wait_async (child->process, NULL, wait_cb, child_ref (child));
  read_stdout (child);
  read_stderr (child);
  return child;
}

/* The client lets go of the program and closes its stdin (which tells a
 * well-behaved server to exit). Its output is still read to the end and
 * dropped, and the wait still runs, for stop_async. Reads are never
 * cancelled: they end when the program does. */
static void
child_detach (RillMcpChild *child)
{
  child->self = NULL;
  g_clear_handle_id (&child->grace_id, g_source_remove);
  g_queue_clear_full (&child->writes, (GDestroyNotify) g_bytes_unref);
  if (child->writing == NULL)
    g_output_stream_close (child->stdin_pipe, NULL, NULL);
  else
    g_cancellable_cancel (child->write_cancellable);
}

static void
stop_done (RillMcpChild *child)
{
  g_autoptr(GTask) task = g_steal_pointer (&child->stop_task);

  g_clear_handle_id (&child->stop_timer_id, g_source_remove);
  g_task_return_boolean (task, TRUE);
  child_unref (child);
}

static gboolean
stop_timer_cb (gpointer data)
{
  RillMcpChild *child = data;

  if (child->stop_stage == 0)
    {
      child->stop_stage = 1;
      g_subprocess_send_signal (child->process, SIGTERM);
      return G_SOURCE_CONTINUE;
    }
  child->stop_timer_id = 0;
  g_subprocess_force_exit (child->process);
  return G_SOURCE_REMOVE;
}

void
_rill_mcp_child_kill (RillMcpChild *child)
{
  if (!child->exited)
    g_subprocess_force_exit (child->process);
  child_detach (child);
  child_unref (child);
}

void
_rill_mcp_child_let_go (RillMcpChild *child)
{
  child_detach (child);
  if (!child->exited)
    g_subprocess_send_signal (child->process, SIGTERM);
  child_unref (child);
}

void
_rill_mcp_child_stop (RillMcpChild *child,
                      guint         timeout_ms,
                      GTask        *task)
{
  child_detach (child);
  if (child->exited)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      child_unref (child);
      return;
    }
  /* The reference now belongs to the stop, until the wait ends. */
  child->stop_task = task;
  child->stop_timer_id = g_timeout_add (timeout_ms, stop_timer_cb, child);
}
