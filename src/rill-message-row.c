/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-message-row.c
 *
 * A reply is drawn as blocks (rill-markdown.h): each finished block is a
 * label of its own that never changes again, and only the block still
 * growing lives in a GtkTextView, the tail. A GtkTextView lays out its whole
 * paragraph on every insert, so one view for a 100 KB reply gets slower with
 * each token; the tail stays short. The reply only marks the row dirty when
 * text arrives, and a tick callback copies what is new at most once a frame,
 * however fast the server sends. */

#include <glib/gi18n.h>
#include <string.h>

#include "rill-attachment-chip.h"
#include "rill-block-column.h"
#include "rill-block-widget.h"
#include "rill-markdown.h"
#include "rill-message-row-private.h"

struct _RillMessageRow
{
  GtkBox                parent_instance;

  /* Template widgets */
  GtkLabel             *author_label;
  GtkLabel             *status_label;
  GtkSpinner           *spinner;
  GtkButton            *edit_button;
  GtkButton            *regenerate_button;
  GtkButton            *copy_button;
  GtkButton            *previous_version_button;
  GtkButton            *next_version_button;
  GtkExpander          *thinking_expander;
  GtkTextView          *reasoning_view;
  GtkBox               *blocks_box;
  GtkTextView          *tail_view;
  GtkBox               *problem_box;
  GtkLabel             *problem_label;
  GtkButton            *retry_button;
  GtkLabel             *retry_label;
  GtkLabel             *cost_label;

  /* Owned */
  RillReply            *reply;
  GString              *source;
  RillMarkdownSplitter  splitter;
  char                 *model;
  char                 *error;

  gint64                message_id;
  GtkWidget            *attachments_box;   /* NULL until a message has some */
  GCancellable         *attachments_cancellable;
  gboolean              attachments_read;
  gboolean              watching_scroll;
  guint                 view_tick;
  gsize                 committed;
  GtkTextTag           *item_tag;
  GtkTextTag           *blank_tag;
  int                   tail_itemized;
  gboolean              tail_item_tagged;
  gsize                 reasoning_shown;
  guint                 tick_id;
  guint                 version;
  guint                 n_versions;
  RillRole              role;
  RillStatus            status;
  guint                 dirty : 1;
  guint                 is_last : 1;

  /* What the reply cost (update_cost); -1 when unknown. */
  gint64                conversation_id;
  gint64                ttft_ms;
  gint64                generation_ms;
  gint64                prompt_tokens;
  gint64                completion_tokens;
};

G_DEFINE_FINAL_TYPE (RillMessageRow, rill_message_row, GTK_TYPE_BOX)

static void read_attachments (RillMessageRow *self);
static void update_cost (RillMessageRow *self);

enum {
  SIGNAL_EDIT,
  SIGNAL_REGENERATE,
  SIGNAL_RETRY,
  SIGNAL_CONTINUE,
  SIGNAL_SHOW_VERSION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_ROLE,
  PROP_STATUS,
  PROP_MODEL,
  PROP_ERROR,
  PROP_IS_LAST,
  PROP_VERSION,
  PROP_N_VERSIONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
is_blank (const char *text,
          gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isspace (text[i]))
      return FALSE;
  return TRUE;
}

/* Blank lines between blocks are a block of their own, drawn as nothing. */
static gboolean
draws_nothing (RillMessageRow          *self,
               const RillMarkdownBlock *block)
{
  return block->kind != RILL_BLOCK_CODE &&
         is_blank (self->source->str + block->start, block->end - block->start);
}

static GtkWidget *
make_block (RillMessageRow          *self,
            const RillMarkdownBlock *block)
{
  const char *text = self->source->str;

  if (block->kind == RILL_BLOCK_CODE)
    return rill_block_widget_new_code (text + block->code_start,
                                       block->code_end - block->code_start,
                                       block->language, block->continues, block->start);
  return rill_block_widget_new_text (text + block->start, block->end - block->start, block->kind,
                                     self->role == RILL_ROLE_ASSISTANT);
}

static void
free_block (gpointer data)
{
  rill_markdown_block_clear (data);
  g_free (data);
}

static void
realize_block_cb (RillMessageRow *self,
                  GtkWidget      *placeholder)
{
  RillMarkdownBlock *block = rill_block_column_get_placeholder_data (placeholder);

  rill_block_column_replace (RILL_BLOCK_COLUMN (self->blocks_box), placeholder,
                             make_block (self, block));
}

/* What a block's height is estimated from (rill_block_column_estimate_height). */
static void
measure_block (RillMessageRow          *self,
               const RillMarkdownBlock *block,
               guint                   *n_chars,
               guint                   *n_lines)
{
  const char *text = self->source->str + block->start;
  gsize len = block->end - block->start;

  *n_chars = g_utf8_strlen (text, len);
  *n_lines = 1;
  for (const char *p = memchr (text, '\n', len);
       p != NULL;
       p = memchr (p + 1, '\n', text + len - p - 1))
    (*n_lines)++;
}

static int
estimate_height (RillMessageRow          *self,
                 const RillMarkdownBlock *block)
{
  guint n_chars, n_lines;

  measure_block (self, block, &n_chars, &n_lines);
  return rill_block_column_estimate_height (RILL_BLOCK_COLUMN (self->blocks_box), n_chars, n_lines,
                                            block->kind == RILL_BLOCK_CODE);
}

#define BLOCK_GAP 8

/* The space above a block starting at @start: none for the first, nor for
 * the rest of a line cut into pieces, which reads on as one paragraph. */
static int
gap_before (RillMessageRow *self,
            gsize           start)
{
  if (gtk_widget_get_prev_sibling (GTK_WIDGET (self->tail_view)) == NULL)
    return 0;
  return start > 0 && self->source->str[start - 1] != '\n' ? 0 : BLOCK_GAP;
}

/* Blocks that land out of view in one update are laid out later (see
 * rill-block-column.c): those more than two views' height above the end
 * of what came, when it is more than LAZY_BYTES. */
#define LAZY_BYTES 8192

static void
add_blocks (RillMessageRow *self,
            GArray         *blocks)
{
  RillBlockColumn *column = RILL_BLOCK_COLUMN (self->blocks_box);
  guint eager_from = 0;

  if (blocks->len == 0)
    return;
  if (g_array_index (blocks, RillMarkdownBlock, blocks->len - 1).end -
      g_array_index (blocks, RillMarkdownBlock, 0).start > LAZY_BYTES)
    {
      int view = rill_block_column_get_view_height (column);
      int room = 2 * (view > 0 ? view : 800);

      for (eager_from = blocks->len; eager_from > 0 && room > 0; eager_from--)
        room -= estimate_height (self, &g_array_index (blocks, RillMarkdownBlock, eager_from - 1));
    }

  for (guint i = 0; i < blocks->len; i++)
    {
      RillMarkdownBlock *block = &g_array_index (blocks, RillMarkdownBlock, i);
      /* The pieces of a long code block read on as one. */
      int gap = block->continues ? 0 : gap_before (self, block->start);
      GtkWidget *widget;

      if (draws_nothing (self, block))
        continue;
      if (i < eager_from)
        {
          guint n_chars, n_lines;

          measure_block (self, block, &n_chars, &n_lines);
          widget = rill_block_column_add_placeholder (column, GTK_WIDGET (self->tail_view),
                                                      n_chars, n_lines,
                                                      block->kind == RILL_BLOCK_CODE,
                                                      g_memdup2 (block, sizeof *block), free_block);
          block->language = NULL;   /* now the placeholder's */
        }
      else
        {
          widget = make_block (self, block);
          gtk_box_insert_child_after (self->blocks_box, widget,
                                      gtk_widget_get_prev_sibling (GTK_WIDGET (self->tail_view)));
        }
      gtk_widget_set_margin_top (widget, gap);
    }
}

/* The tail is laid out again on every frame it grows, so it pays the
 * squared cost above each frame. GtkTextView merges equal font attributes
 * across tag runs but gives each run of a letter-spacing tag its own
 * attribute, and letter spacing ends an item: a 1/1024-pixel spacing on
 * every other RILL_BLOCK_ITEM_BYTES characters cuts the tail into short items and
 * draws the same. */
static void
split_tail_into_items (RillMessageRow *self,
                       GtkTextBuffer  *buffer)
{
  int n_chars = gtk_text_buffer_get_char_count (buffer);

  while (n_chars - self->tail_itemized >= RILL_BLOCK_ITEM_BYTES)
    {
      GtkTextIter from, to;

      if (self->tail_item_tagged)
        {
          gtk_text_buffer_get_iter_at_offset (buffer, &from, self->tail_itemized);
          gtk_text_buffer_get_iter_at_offset (buffer, &to,
                                              self->tail_itemized + RILL_BLOCK_ITEM_BYTES);
          gtk_text_buffer_apply_tag (buffer, self->item_tag, &from, &to);
        }
      self->tail_item_tagged = !self->tail_item_tagged;
      self->tail_itemized += RILL_BLOCK_ITEM_BYTES;
    }
}

/* Blank lines go with the block after them, and between finished blocks
 * they are a gap of BLOCK_GAP, not an empty line: in the tail they are
 * hidden too, so the text does not move when its block is finished. */
static void
hide_leading_blank_lines (RillMessageRow *self,
                          GtkTextBuffer  *buffer)
{
  const char *text = self->source->str + self->committed;
  const char *end = self->source->str + self->source->len;
  const char *p = text;
  const char *blank_end = text;
  GtkTextIter from, to;

  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    if (*p++ == '\n')
      blank_end = p;
  gtk_text_buffer_get_start_iter (buffer, &from);
  gtk_text_buffer_get_end_iter (buffer, &to);
  gtk_text_buffer_remove_tag (buffer, self->blank_tag, &from, &to);
  if (blank_end == text)
    return;
  gtk_text_buffer_get_iter_at_offset (buffer, &to, g_utf8_strlen (text, blank_end - text));
  gtk_text_buffer_apply_tag (buffer, self->blank_tag, &from, &to);
}

/* Takes the text as received so far (a longer prefix each time) and moves
 * every block that is complete from the tail into a label of its own. */
static void
update_text (RillMessageRow *self,
             const char     *text,
             gsize           len,
             gboolean        at_end)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->tail_view);
  g_autoptr(GArray) blocks = g_array_new (FALSE, FALSE, sizeof (RillMarkdownBlock));
  RillMarkdownBlock block;
  glong n_chars = 0;

  g_array_set_clear_func (blocks, (GDestroyNotify) rill_markdown_block_clear);
  if (len > self->source->len)
    {
      GtkTextIter end;

      gtk_text_buffer_get_end_iter (buffer, &end);
      gtk_text_buffer_insert (buffer, &end, text + self->source->len, len - self->source->len);
      g_string_append_len (self->source, text + self->source->len, len - self->source->len);
    }

  while (rill_markdown_next_block (&self->splitter, self->source->str, self->source->len,
                                   self->committed, at_end, &block))
    {
      g_array_append_val (blocks, block);
      n_chars += g_utf8_strlen (self->source->str + self->committed, block.end - self->committed);
      self->committed = block.end;
    }
  if (n_chars > 0)
    {
      GtkTextIter start, cut;

      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_get_iter_at_offset (buffer, &cut, n_chars);
      gtk_text_buffer_delete (buffer, &start, &cut);
      self->tail_itemized = MAX (0, self->tail_itemized - n_chars);
    }
  add_blocks (self, blocks);

  split_tail_into_items (self, buffer);
  hide_leading_blank_lines (self, buffer);
  gtk_widget_set_margin_top (GTK_WIDGET (self->tail_view), gap_before (self, self->committed));
  gtk_widget_set_visible (GTK_WIDGET (self->tail_view), self->committed < self->source->len);
}

static void
update_reasoning (RillMessageRow *self,
                  const char     *text,
                  gsize           len)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->reasoning_view);
  GtkTextIter end;

  if (len <= self->reasoning_shown)
    return;
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, text + self->reasoning_shown, len - self->reasoning_shown);
  self->reasoning_shown = len;
  gtk_widget_set_visible (GTK_WIDGET (self->thinking_expander), TRUE);
}

/* What the header, the actions and the problem box show follows the row's
 * properties (role, status, model, error, is-last) through the bindings in
 * rill-message-row.ui; these are their closures. The first argument is the
 * row, which they do not need. */

static gboolean
is_streaming (RillRole   role,
              RillStatus status)
{
  return role == RILL_ROLE_ASSISTANT && status == RILL_STATUS_STREAMING;
}

static char *
author_text (gpointer    row,
             RillRole    role,
             const char *model)
{
  if (role == RILL_ROLE_USER)
    return g_strdup (_("You"));
  if (role == RILL_ROLE_SYSTEM)
    return g_strdup (_("System"));
  return g_strdup (model && *model ? model : _("Assistant"));
}

static char *
status_text (gpointer   row,
             RillStatus status)
{
  const char *words = rill_status_describe (status);

  return g_strdup (words ? words : "");
}

static gboolean
status_shown (gpointer   row,
              RillRole   role,
              RillStatus status)
{
  return role == RILL_ROLE_ASSISTANT && rill_status_describe (status) != NULL;
}

static gboolean
streaming (gpointer   row,
           RillRole   role,
           RillStatus status)
{
  return is_streaming (role, status);
}

static gboolean
not_streaming (gpointer   row,
               RillRole   role,
               RillStatus status)
{
  return !is_streaming (role, status);
}

static gboolean
can_edit (gpointer   row,
          RillRole   role,
          RillStatus status)
{
  return role == RILL_ROLE_USER;
}

static gboolean
can_regenerate (gpointer   row,
                RillRole   role,
                RillStatus status,
                gboolean   is_last)
{
  return role == RILL_ROLE_ASSISTANT && is_last && status == RILL_STATUS_COMPLETE;
}

/* A reply that did not complete says so under its text. */
static gboolean
has_problem (gpointer   row,
             RillRole   role,
             RillStatus status)
{
  return role == RILL_ROLE_ASSISTANT &&
         status != RILL_STATUS_STREAMING && status != RILL_STATUS_COMPLETE;
}

static char *
problem_text (gpointer    row,
              RillStatus  status,
              const char *error)
{
  if (status == RILL_STATUS_FAILED)
    return g_strdup (error && *error ? error : _("The reply failed."));
  if (status == RILL_STATUS_STOPPED)
    return g_strdup (_("Stopped before the end. What arrived is kept."));
  return g_strdup (_("Rill was closed while this reply arrived. What arrived is kept."));
}

static char *
retry_tooltip (gpointer   row,
               RillStatus status)
{
  return g_strdup (status == RILL_STATUS_FAILED ? _("Ask for This Reply Again")
                                                : _("Ask the Model to Carry On From Here"));
}

/* What a screen reader says of the message as a whole: who wrote it as its
 * name; its model and how it ended as its description. Accessible
 * properties cannot be bound, so they follow role, model and status here. */
static void
update_accessible (RillMessageRow *self)
{
  g_autofree char *author = author_text (self, self->role, self->model);
  g_autofree char *description = NULL;
  const char *status = rill_status_describe (self->status);

  if (self->role == RILL_ROLE_ASSISTANT)
    {
      if (self->status == RILL_STATUS_STREAMING)
        status = _("Arriving");
      else if (status == NULL)
        status = _("Complete");
      /* translators: a reply's description for screen readers: its model, then
       * its status ("Complete", "Stopped", "Failed: …") */
      description = g_strdup_printf (_("Reply from %s. %s."),
                                     self->model && *self->model ? self->model : _("the model"),
                                     status);
      if (self->status == RILL_STATUS_FAILED && self->error != NULL)
        {
          char *with_error = g_strconcat (description, " ", self->error, NULL);

          g_free (description);
          description = with_error;
        }
    }
  else
    description = g_strdup (_("Your message."));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, author,
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                  -1);
  /* A failed reply is asked again; one that was cut short is carried on
   * from what arrived, which the request sends back as history. (Set here
   * rather than bound: a binding in the button's own label outlived a row
   * removed from inside its own signal in GTK 4.8.) */
  gtk_label_set_text_with_mnemonic (self->retry_label, self->status == RILL_STATUS_FAILED
                                                       ? _("_Retry") : _("_Continue"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->retry_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  self->status == RILL_STATUS_FAILED ? _("Retry") : _("Continue"),
                                  -1);
  /* The visible label has a mnemonic; its name is the word alone. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->retry_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  self->status == RILL_STATUS_FAILED ? _("Retry") : _("Continue"),
                                  -1);
}

/* Style classes cannot be bound. */
static void
update_style (RillMessageRow *self)
{
  gboolean failed = self->status == RILL_STATUS_FAILED;

  if (failed)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_add_css_class (GTK_WIDGET (self->problem_box), "error");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->status_label), "error");
      gtk_widget_remove_css_class (GTK_WIDGET (self->problem_box), "error");
    }
}

static void
set_status (RillMessageRow *self,
            RillStatus      status)
{
  if (self->status == status)
    return;
  self->status = status;
  update_style (self);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
set_string (RillMessageRow  *self,
            char           **field,
            const char      *value,
            guint            prop_id)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  update_accessible (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
sync_from_reply (RillMessageRow *self,
                 gboolean        at_end)
{
  const GString *content = rill_reply_get_content (self->reply);
  const GString *reasoning = rill_reply_get_reasoning (self->reply);
  const char *model = rill_reply_get_model (self->reply);

  if (reasoning != NULL)
    update_reasoning (self, reasoning->str, reasoning->len);
  update_text (self, content->str, content->len, at_end);
  if (model != NULL)
    set_string (self, &self->model, model, PROP_MODEL);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (widget);

  if (!self->dirty || self->reply == NULL)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  self->dirty = FALSE;
  sync_from_reply (self, FALSE);
  return G_SOURCE_CONTINUE;
}

static void
reply_changed_cb (RillMessageRow *self,
                  RillReply      *reply)
{
  self->dirty = TRUE;
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

static void
reply_started_cb (RillMessageRow *self,
                  RillReply      *reply)
{
  self->message_id = rill_reply_get_message_id (reply);
}

static void
reply_finished_cb (RillMessageRow *self,
                   RillReply      *reply)
{
  const GError *store_error = rill_reply_get_store_error (reply);

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  self->dirty = FALSE;
  sync_from_reply (self, TRUE);

  self->message_id = rill_reply_get_message_id (reply);
  if (store_error != NULL)
    {
      g_autofree char *error = g_strdup_printf (_("This reply could not be saved: %s"),
                                                store_error->message);

      set_string (self, &self->error, error, PROP_ERROR);
    }
  else
    set_string (self, &self->error, rill_reply_get_error (reply), PROP_ERROR);
  if (store_error != NULL && rill_reply_get_status (reply) == RILL_STATUS_COMPLETE)
    set_status (self, RILL_STATUS_FAILED);
  else
    set_status (self, rill_reply_get_status (reply));
  self->conversation_id = rill_reply_get_conversation_id (reply);
  self->ttft_ms = rill_reply_get_ttft_ms (reply);
  self->generation_ms = rill_reply_get_generation_ms (reply);
  self->prompt_tokens = rill_reply_get_prompt_tokens (reply);
  self->completion_tokens = rill_reply_get_completion_tokens (reply);
  update_cost (self);

  g_signal_handlers_disconnect_by_data (reply, self);
  g_clear_object (&self->reply);
}

void
rill_message_row_attach_reply (RillMessageRow *self,
                               RillReply      *reply)
{
  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));
  g_return_if_fail (RILL_IS_REPLY (reply));
  g_return_if_fail (self->reply == NULL);

  self->reply = g_object_ref (reply);
  set_status (self, RILL_STATUS_STREAMING);
  g_signal_connect_object (reply, "started", G_CALLBACK (reply_started_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (reply, "changed", G_CALLBACK (reply_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (reply, "finished", G_CALLBACK (reply_finished_cb),
                           self, G_CONNECT_SWAPPED);

  if (rill_reply_is_finished (reply))
    reply_finished_cb (self, reply);
}

RillReply *
rill_message_row_get_reply (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  return self->reply;
}

static void
edit_clicked_cb (RillMessageRow *self)
{
  g_signal_emit (self, signals[SIGNAL_EDIT], 0);
}

static void
regenerate_clicked_cb (RillMessageRow *self)
{
  g_signal_emit (self, signals[SIGNAL_REGENERATE], 0);
}

static void
retry_clicked_cb (RillMessageRow *self)
{
  if (self->status == RILL_STATUS_FAILED)
    g_signal_emit (self, signals[SIGNAL_RETRY], 0);
  else
    g_signal_emit (self, signals[SIGNAL_CONTINUE], 0);
}

static void
previous_version_clicked_cb (RillMessageRow *self)
{
  g_signal_emit (self, signals[SIGNAL_SHOW_VERSION], 0, -1);
}

static void
next_version_clicked_cb (RillMessageRow *self)
{
  g_signal_emit (self, signals[SIGNAL_SHOW_VERSION], 0, 1);
}

/* The switcher: "‹ 2 / 3 ›" where a message has other versions. */

static gboolean
has_versions (gpointer row,
              guint    n_versions)
{
  return n_versions > 1;
}

static char *
version_text (gpointer row,
              guint    version,
              guint    n_versions)
{
  /* translators: a message's version and how many there are, as in "2 / 3" */
  return g_strdup_printf (_("%u / %u"), version, n_versions);
}

static char *
version_tooltip (gpointer row,
                 guint    version,
                 guint    n_versions)
{
  return g_strdup_printf (_("Version %u of %u"), version, n_versions);
}

static gboolean
has_previous_version (gpointer row,
                      guint    version)
{
  return version > 1;
}

static gboolean
has_next_version (gpointer row,
                  guint    version,
                  guint    n_versions)
{
  return version < n_versions;
}

static void
copy_clicked_cb (RillMessageRow *self)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), self->source->str);
}

/* A code block's Copy: all of it, every piece, exactly as it was sent. */
static void
copy_code_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (widget);
  guint64 start = g_variant_get_uint64 (parameter);
  g_autofree char *code = NULL;

  if (start >= self->source->len)
    return;
  code = rill_markdown_dup_code (self->source->str, self->source->len, start);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), code);
}

static void
rill_message_row_dispose (GObject *object)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (object);

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  if (self->reply != NULL)
    g_signal_handlers_disconnect_by_data (self->reply, self);
  g_clear_object (&self->reply);
  g_cancellable_cancel (self->attachments_cancellable);
  g_clear_object (&self->attachments_cancellable);

  G_OBJECT_CLASS (rill_message_row_parent_class)->dispose (object);
}

static void
rill_message_row_finalize (GObject *object)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (object);

  g_string_free (self->source, TRUE);
  rill_markdown_splitter_clear (&self->splitter);
  g_free (self->model);
  g_free (self->error);

  G_OBJECT_CLASS (rill_message_row_parent_class)->finalize (object);
}

static void
rill_message_row_constructed (GObject *object)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (object);

  G_OBJECT_CLASS (rill_message_row_parent_class)->constructed (object);

  gtk_widget_add_css_class (GTK_WIDGET (self),
                            self->role == RILL_ROLE_ASSISTANT ? "assistant" : "user");
  update_style (self);
  update_accessible (self);
}

static void
rill_message_row_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    case PROP_IS_LAST:
      g_value_set_boolean (value, self->is_last);
      break;
    case PROP_VERSION:
      g_value_set_uint (value, self->version);
      break;
    case PROP_N_VERSIONS:
      g_value_set_uint (value, self->n_versions);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_message_row_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      self->role = g_value_get_enum (value);
      break;
    case PROP_IS_LAST:
      rill_message_row_set_is_last (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rill_message_row_class_init (RillMessageRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = rill_message_row_constructed;
  object_class->dispose = rill_message_row_dispose;
  object_class->finalize = rill_message_row_finalize;
  object_class->get_property = rill_message_row_get_property;
  object_class->set_property = rill_message_row_set_property;

  properties[PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, RILL_TYPE_ROLE, RILL_ROLE_USER,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, RILL_TYPE_STATUS, RILL_STATUS_COMPLETE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_MODEL] =
    g_param_spec_string ("model", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_IS_LAST] =
    g_param_spec_boolean ("is-last", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_VERSION] =
    g_param_spec_uint ("version", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_N_VERSIONS] =
    g_param_spec_uint ("n-versions", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_EDIT] = g_signal_new ("edit", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_REGENERATE] = g_signal_new ("regenerate", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 0);
  signals[SIGNAL_RETRY] = g_signal_new ("retry", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_CONTINUE] = g_signal_new ("continue", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_SHOW_VERSION] = g_signal_new ("show-version", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_install_action (widget_class, "message.copy-code", "t", copy_code_action);

  /* A message is a group a screen reader names and describes, and the
   * keyboard stops at (Tab), besides its buttons. */
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);

  g_type_ensure (RILL_TYPE_BLOCK_COLUMN);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               RESOURCE_PREFIX "/rill-message-row.ui");
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, author_label);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, status_label);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, spinner);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, edit_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, regenerate_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, copy_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, previous_version_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, next_version_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, thinking_expander);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, reasoning_view);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, blocks_box);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, tail_view);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, problem_box);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, problem_label);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, retry_button);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, retry_label);
  gtk_widget_class_bind_template_child (widget_class, RillMessageRow, cost_label);
  gtk_widget_class_bind_template_callback (widget_class, edit_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, regenerate_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, previous_version_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, next_version_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, has_versions);
  gtk_widget_class_bind_template_callback (widget_class, version_text);
  gtk_widget_class_bind_template_callback (widget_class, version_tooltip);
  gtk_widget_class_bind_template_callback (widget_class, has_previous_version);
  gtk_widget_class_bind_template_callback (widget_class, has_next_version);
  gtk_widget_class_bind_template_callback (widget_class, realize_block_cb);
  gtk_widget_class_bind_template_callback (widget_class, author_text);
  gtk_widget_class_bind_template_callback (widget_class, status_text);
  gtk_widget_class_bind_template_callback (widget_class, status_shown);
  gtk_widget_class_bind_template_callback (widget_class, streaming);
  gtk_widget_class_bind_template_callback (widget_class, not_streaming);
  gtk_widget_class_bind_template_callback (widget_class, can_edit);
  gtk_widget_class_bind_template_callback (widget_class, can_regenerate);
  gtk_widget_class_bind_template_callback (widget_class, has_problem);
  gtk_widget_class_bind_template_callback (widget_class, problem_text);
  gtk_widget_class_bind_template_callback (widget_class, retry_tooltip);
}

static void
rill_message_row_init (RillMessageRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  self->source = g_string_new (NULL);
  rill_markdown_splitter_init (&self->splitter);
  self->status = RILL_STATUS_COMPLETE;
  gtk_widget_set_visible (GTK_WIDGET (self->tail_view), FALSE);
  self->item_tag = gtk_text_buffer_create_tag (gtk_text_view_get_buffer (self->tail_view), NULL,
                                               "letter-spacing", 1, NULL);
  self->blank_tag = gtk_text_buffer_create_tag (gtk_text_view_get_buffer (self->tail_view), NULL,
                                                "invisible", TRUE, NULL);
  g_signal_connect (self, "map", G_CALLBACK (read_attachments), NULL);
  self->ttft_ms = self->generation_ms = -1;
  self->prompt_tokens = self->completion_tokens = -1;
  /* The server's name needs the window's session: known once on screen. */
  g_signal_connect (self, "map", G_CALLBACK (update_cost), NULL);
}

/* Attachments: a stored user message's files, read from the store once
 * the row is on screen and has its id. The read takes each image's stored
 * thumbnail (schema 9), never its full bytes, and a worker thread decodes
 * it at the size shown; only those pixels stay. An image stored before
 * there were thumbnails has its full bytes read once, a thumbnail made in
 * the worker thread and written back through the store's writer, so the
 * next open finds it. Clicking a thumbnail opens the image full size from
 * the store again. Other files are chips with their name. */

#define THUMBNAIL_SIDE 96

static RillStore *
row_store (RillMessageRow *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(RillSession) session = NULL;

  /* The window's session, without depending on the window. */
  if (root == NULL || !g_object_class_find_property (G_OBJECT_GET_CLASS (root), "session"))
    return NULL;
  g_object_get (root, "session", &session, NULL);
  return session ? rill_session_get_store (session) : NULL;
}

static void
unref_pixbuf (gpointer pixbuf)
{
  if (pixbuf != NULL)
    g_object_unref (pixbuf);
}

/* The thumbnails decoded, by the SHA-256 of their image and the scale
 * they were decoded for: reopening a conversation, or another that sent
 * the same photo, decodes nothing. Bounded (a thumbnail is some 30 KiB at
 * the scale of 1; the oldest go first), and used on the main thread only. */
#define THUMBNAIL_CACHE_SIZE 256

static GHashTable *thumbnail_cache;
static GQueue thumbnail_order = G_QUEUE_INIT;

static char *
cache_key (const char *sha256,
           int         scale)
{
  return g_strdup_printf ("%s@%d", sha256, scale);
}

static GdkTexture *
cached_thumbnail (const char *sha256,
                  int         scale)
{
  g_autofree char *key = cache_key (sha256, scale);

  return thumbnail_cache ? g_hash_table_lookup (thumbnail_cache, key) : NULL;
}

static void
cache_thumbnail (const char *sha256,
                 int         scale,
                 GdkTexture *texture)
{
  g_autofree char *key = cache_key (sha256, scale);

  if (thumbnail_cache == NULL)
    thumbnail_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  if (g_hash_table_contains (thumbnail_cache, key))
    return;
  while (thumbnail_order.length >= THUMBNAIL_CACHE_SIZE)
    {
      g_autofree char *oldest = g_queue_pop_head (&thumbnail_order);

      g_hash_table_remove (thumbnail_cache, oldest);
    }
  g_hash_table_insert (thumbnail_cache, g_strdup (key), g_object_ref (texture));
  g_queue_push_tail (&thumbnail_order, g_steal_pointer (&key));
}

typedef struct
{
  GPtrArray *attachments;  /* RillStoredAttachment, without bytes but for those with no
                            * stored thumbnail */
  GPtrArray *textures;     /* the cached thumbnail of each, or NULL */
  int        scale;        /* the row's scale factor */
} ThumbnailJob;

/* What the worker made of one attachment. */
typedef struct
{
  GdkPixbuf *pixbuf;       /* at the size shown, or NULL */
  GBytes    *made;         /* a thumbnail made from the full bytes, to store */
  guint      width;
  guint      height;
} Decoded;

static void
decoded_free (gpointer data)
{
  Decoded *decoded = data;

  g_clear_object (&decoded->pixbuf);
  g_clear_pointer (&decoded->made, g_bytes_unref);
  g_free (decoded);
}

static void
thumbnail_job_free (ThumbnailJob *job)
{
  g_ptr_array_unref (job->attachments);
  g_ptr_array_unref (job->textures);
  g_free (job);
}

static void
decode_thumbnails (GTask        *task,
                   gpointer      source,
                   gpointer      data,
                   GCancellable *cancellable)
{
  ThumbnailJob *job = data;
  GPtrArray *results = g_ptr_array_new_full (job->attachments->len, decoded_free);
  /* At most the stored side: sharp on a screen that doubles pixels. */
  int side = MIN (THUMBNAIL_SIDE * job->scale, RILL_STORED_THUMBNAIL_SIDE);

  for (guint i = 0; i < job->attachments->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (job->attachments, i);
      Decoded *decoded = g_new0 (Decoded, 1);
      GBytes *thumbnail = attachment->thumbnail;

      g_ptr_array_add (results, decoded);
      /* Nothing for a file, a thumbnail cached, or an image that does not
       * decode. */
      if (!rill_stored_attachment_is_image (attachment) ||
          g_ptr_array_index (job->textures, i) != NULL)
        continue;
      if (thumbnail == NULL && attachment->data != NULL)
        thumbnail = decoded->made =
          rill_attachment_make_stored_thumbnail (attachment->data, cancellable,
                                                 &decoded->width, &decoded->height, NULL);
      if (thumbnail != NULL)
        {
          g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (thumbnail);

          decoded->pixbuf = gdk_pixbuf_new_from_stream_at_scale (stream, side, side, TRUE,
                                                                 cancellable, NULL);
        }
    }
  g_task_return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref);
}

/* A thumbnail written late: if it fails, the next open makes it again. */
static void
thumbnail_saved_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  rill_store_write_finish (RILL_STORE (source), result, NULL);
}

static gboolean
close_viewer_cb (GtkWidget *window,
                 GVariant  *args,
                 gpointer   data)
{
  gtk_window_close (GTK_WINDOW (window));
  return TRUE;
}

/* The attachment @attachment_id of this row's message, read again from
 * the store (the row keeps only thumbnails), or NULL. */
static RillStoredAttachment *
read_stored (RillMessageRow *self,
             gint64          attachment_id)
{
  RillStore *store = row_store (self);
  g_autoptr(GPtrArray) attachments = NULL;

  if (store == NULL
      || !(attachments = rill_store_list_attachments (store, self->message_id, NULL)))
    return NULL;
  for (guint i = 0; i < attachments->len; i++)
    if (((RillStoredAttachment *) g_ptr_array_index (attachments, i))->id == attachment_id)
      return g_ptr_array_steal_index (attachments, i);
  return NULL;
}

static gint64
attachment_id_of (gpointer object)
{
  return GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (object), "rill-attachment-id"));
}

/* The accessible name (taken) and the tooltip of a button acting on a
 * file. */
static void
name_button (GtkWidget  *button,
             char       *label,
             const char *tooltip)
{
  gtk_widget_set_tooltip_text (button, tooltip ? tooltip : label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  label, -1);
  g_free (label);
}

static void
viewer_save_cb (GtkButton *button,
                GtkWindow *viewer)
{
  rill_attachment_save_stored (GTK_WIDGET (viewer), gtk_window_get_title (viewer),
                               g_object_get_data (G_OBJECT (viewer), "rill-attachment-data"));
}

/* The image full size, zoomed to fit the window; Escape closes it, and
 * Save asks where to write its bytes. */
static void
open_viewer (RillMessageRow *self,
             gint64          attachment_id)
{
  g_autoptr(RillStoredAttachment) attachment = read_stored (self, attachment_id);
  g_autoptr(GdkTexture) texture = NULL;
  GtkShortcutController *shortcuts;
  GtkShortcut *escape;
  GtkWidget *window;
  GtkWidget *header;
  GtkWidget *save;
  GtkWidget *picture;

  if (attachment == NULL || !(texture = gdk_texture_new_from_bytes (attachment->data, NULL)))
    return;
  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), attachment->name);
  gtk_window_set_modal (GTK_WINDOW (window), TRUE);
  gtk_window_set_transient_for (GTK_WINDOW (window),
                                GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))));
  gtk_window_set_default_size (GTK_WINDOW (window),
                               MIN (gdk_texture_get_width (texture), 1200),
                               MIN (gdk_texture_get_height (texture), 900));
  /* The bytes as stored, for Save, only while the viewer is open. */
  g_object_set_data_full (G_OBJECT (window), "rill-attachment-data",
                          g_bytes_ref (attachment->data), (GDestroyNotify) g_bytes_unref);
  header = gtk_header_bar_new ();
  save = gtk_button_new_from_icon_name ("document-save-symbolic");
  gtk_widget_set_name (save, "save");
  /* Translators: the accessible name of a button; %s is a file's name. */
  name_button (save, g_strdup_printf (_("Save %s"), attachment->name), _("Save"));
  g_signal_connect (save, "clicked", G_CALLBACK (viewer_save_cb), window);
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), save);
  gtk_window_set_titlebar (GTK_WINDOW (window), header);
  picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_alternative_text (GTK_PICTURE (picture), attachment->name);
  gtk_window_set_child (GTK_WINDOW (window), picture);
  shortcuts = GTK_SHORTCUT_CONTROLLER (gtk_shortcut_controller_new ());
  escape = gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                             gtk_callback_action_new (close_viewer_cb, NULL, NULL));
  gtk_shortcut_controller_add_shortcut (shortcuts, escape);
  gtk_widget_add_controller (window, GTK_EVENT_CONTROLLER (shortcuts));
  gtk_widget_set_name (window, "rill-image-viewer");
  gtk_window_present (GTK_WINDOW (window));
}

static void
thumbnail_clicked_cb (GtkButton      *button,
                      RillMessageRow *self)
{
  open_viewer (self, attachment_id_of (button));
}

static void
file_open_cb (GtkButton      *button,
              RillMessageRow *self)
{
  g_autoptr(RillStoredAttachment) attachment = read_stored (self, attachment_id_of (button));

  if (attachment != NULL)
    rill_attachment_open_stored (GTK_WIDGET (self), attachment->name, attachment->sha256,
                                 attachment->data);
}

static void
file_save_cb (GtkButton      *button,
              RillMessageRow *self)
{
  g_autoptr(RillStoredAttachment) attachment = read_stored (self, attachment_id_of (button));

  if (attachment != NULL)
    rill_attachment_save_stored (GTK_WIDGET (self), attachment->name, attachment->data);
}

/* A file: its icon and name, which open it with the default application,
 * and a button that saves it. Its bytes are read from the store when
 * asked for. */
static GtkWidget *
file_chip (RillMessageRow             *self,
           const RillStoredAttachment *attachment)
{
  GtkWidget *chip = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *open = gtk_button_new ();
  GtkWidget *save = gtk_button_new_from_icon_name ("document-save-symbolic");
  GtkWidget *label = gtk_label_new (attachment->name);

  gtk_box_append (GTK_BOX (content),
                  gtk_image_new_from_icon_name (g_str_equal (attachment->mime_type,
                                                             "application/pdf")
                                                ? "x-office-document-symbolic"
                                                : "text-x-generic-symbolic"));
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 30);
  gtk_box_append (GTK_BOX (content), label);
  gtk_button_set_child (GTK_BUTTON (open), content);
  gtk_widget_add_css_class (open, "flat");
  gtk_widget_set_name (open, "open");
  /* Translators: the accessible name of a button; %s is a file's name. */
  name_button (open, g_strdup_printf (_("Open %s"), attachment->name), NULL);
  gtk_widget_add_css_class (save, "flat");
  gtk_widget_set_name (save, "save");
  name_button (save, g_strdup_printf (_("Save %s"), attachment->name), NULL);
  for (GtkWidget *button = open; button != NULL; button = button == open ? save : NULL)
    g_object_set_data (G_OBJECT (button), "rill-attachment-id",
                       GSIZE_TO_POINTER ((gsize) attachment->id));
  g_signal_connect (open, "clicked", G_CALLBACK (file_open_cb), self);
  g_signal_connect (save, "clicked", G_CALLBACK (file_save_cb), self);
  gtk_box_append (GTK_BOX (chip), open);
  gtk_box_append (GTK_BOX (chip), save);
  gtk_widget_add_css_class (chip, "card");
  gtk_widget_add_css_class (chip, "attachment-chip");
  return chip;
}

/* The thumbnails (@textures: one per attachment, NULL for a file) and
 * the chips, into the row; the thumbnails were decoded for @scale. */
static void
add_attachment_widgets (RillMessageRow *self,
                        GPtrArray      *attachments,
                        GPtrArray      *textures,
                        int             scale)
{
  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      GdkTexture *texture = g_ptr_array_index (textures, i);
      GtkWidget *child;

      if (texture != NULL)
        {
          GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));

          gtk_picture_set_alternative_text (GTK_PICTURE (picture), attachment->name);
          /* Decoded for the screen's pixels, shown at its size in points. */
          gtk_widget_set_size_request (picture, gdk_texture_get_width (texture) / scale,
                                       gdk_texture_get_height (texture) / scale);
          child = gtk_button_new ();
          gtk_button_set_child (GTK_BUTTON (child), picture);
          gtk_widget_add_css_class (child, "flat");
          gtk_widget_add_css_class (child, "attachment-thumbnail");
          gtk_widget_set_tooltip_text (child, attachment->name);
          gtk_accessible_update_property (GTK_ACCESSIBLE (child),
                                          GTK_ACCESSIBLE_PROPERTY_LABEL, attachment->name, -1);
          g_object_set_data (G_OBJECT (child), "rill-attachment-id",
                             GSIZE_TO_POINTER ((gsize) attachment->id));
          g_signal_connect (child, "clicked", G_CALLBACK (thumbnail_clicked_cb), self);
        }
      else
        child = file_chip (self, attachment);
      gtk_widget_set_valign (child, GTK_ALIGN_START);
      /* At its own size: a line of the flow box would stretch it. */
      gtk_widget_set_halign (child, GTK_ALIGN_START);
      gtk_flow_box_append (GTK_FLOW_BOX (self->attachments_box), child);
      /* The thumbnail or the chip's buttons take the focus, not the cell. */
      gtk_widget_set_focusable (gtk_widget_get_parent (child), FALSE);
    }
}

static void
thumbnails_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (source);
  ThumbnailJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GPtrArray) results = g_task_propagate_pointer (G_TASK (result), NULL);
  RillStore *store;

  if (results == NULL || g_cancellable_is_cancelled (self->attachments_cancellable))
    return;
  store = row_store (self);
  for (guint i = 0; i < job->attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (job->attachments, i);
      Decoded *decoded = g_ptr_array_index (results, i);

      if (decoded->made != NULL && store != NULL)
        rill_store_save_thumbnail_async (store, attachment->sha256, decoded->width,
                                         decoded->height, decoded->made, NULL,
                                         thumbnail_saved_cb, NULL);
      if (decoded->pixbuf != NULL && g_ptr_array_index (job->textures, i) == NULL)
        {
          GdkTexture *texture = gdk_texture_new_for_pixbuf (decoded->pixbuf);

          cache_thumbnail (attachment->sha256, job->scale, texture);
          job->textures->pdata[i] = texture;
        }
    }
  add_attachment_widgets (self, job->attachments, job->textures, job->scale);
}

static gboolean check_view_cb (GtkWidget     *widget,
                               GdkFrameClock *clock,
                               gpointer       data);

static void
schedule_check (RillMessageRow *self)
{
  if (self->view_tick == 0)
    self->view_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), check_view_cb, NULL, NULL);
}

/* "changed" comes in the middle of the scrolled window's layout, where no
 * widget may be added: the row looks again at the next frame, before its
 * layout. */
static void
scrolled_cb (GtkAdjustment  *adjustment,
             RillMessageRow *self)
{
  if (self->attachments_read)
    g_signal_handlers_disconnect_by_func (adjustment, scrolled_cb, self);
  else
    schedule_check (self);
}

/* Whether the row is within half a screen of what its scrolled window
 * shows: a conversation of a hundred images opens with the few in view
 * decoded, and the others as they are scrolled near. -1 when it is not
 * laid out yet. */
static int
near_view (RillMessageRow *self)
{
  GtkWidget *scroller = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);
  double x, y, page;
  int height = gtk_widget_get_height (GTK_WIDGET (self));

  if (scroller == NULL)
    return TRUE;
  page = gtk_adjustment_get_page_size (
    gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller)));
  if (height == 0 || page == 0 ||
      !gtk_widget_translate_coordinates (GTK_WIDGET (self), scroller, 0, 0, &x, &y))
    return -1;
  return y < 1.5 * page && y + height > -page / 2;
}

static void read_now (RillMessageRow *self);

/* Once the row is laid out: read now if it is near the view, or else
 * watch the scrolling, and the layouts ("changed"). */
static gboolean
check_view_cb (GtkWidget     *widget,
               GdkFrameClock *clock,
               gpointer       data)
{
  RillMessageRow *self = RILL_MESSAGE_ROW (widget);
  int near = near_view (self);

  if (self->attachments_read)
    near = TRUE;
  else if (near < 0)
    return G_SOURCE_CONTINUE;
  self->view_tick = 0;
  if (near)
    {
      read_now (self);
      return G_SOURCE_REMOVE;
    }
  if (!self->watching_scroll)
    {
      GtkWidget *scroller = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
      GtkAdjustment *adjustment =
        gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));

      self->watching_scroll = TRUE;
      g_signal_connect_object (adjustment, "value-changed", G_CALLBACK (scrolled_cb), self, 0);
      g_signal_connect_object (adjustment, "changed", G_CALLBACK (scrolled_cb), self, 0);
    }
  return G_SOURCE_REMOVE;
}

/* On the screen, with its id: the attachments are read when the row is
 * near the view. */
static void
read_attachments (RillMessageRow *self)
{
  if (self->attachments_read || self->role != RILL_ROLE_USER || self->message_id <= 0
      || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  if (gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW) == NULL)
    read_now (self);
  else
    schedule_check (self);
}

static void
read_now (RillMessageRow *self)
{
  g_autoptr(GPtrArray) attachments = NULL;
  g_autoptr(GPtrArray) textures = NULL;
  g_autoptr(GPtrArray) full = NULL;
  g_autoptr(GTask) task = NULL;
  gboolean all_cached = TRUE;
  gboolean any_missing = FALSE;
  int scale = MAX (1, gtk_widget_get_scale_factor (GTK_WIDGET (self)));
  ThumbnailJob *job;
  RillStore *store;

  if (self->attachments_read || !(store = row_store (self)))
    return;
  self->attachments_read = TRUE;
  attachments = rill_store_list_attachment_previews (store, self->message_id, NULL);
  if (attachments == NULL || attachments->len == 0)
    return;

  /* A flow box: on a narrow window the chips wrap rather than squeeze
   * their names to nothing. */
  self->attachments_box = gtk_flow_box_new ();
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (self->attachments_box), GTK_SELECTION_NONE);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (self->attachments_box), FALSE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (self->attachments_box), 20);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (self->attachments_box), 6);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (self->attachments_box), 6);
  gtk_widget_set_name (self->attachments_box, "attachments");
  gtk_widget_insert_before (self->attachments_box, GTK_WIDGET (self),
                            GTK_WIDGET (self->blocks_box));
  textures = g_ptr_array_new_full (attachments->len, unref_pixbuf);
  for (guint i = 0; i < attachments->len; i++)
    {
      RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
      GdkTexture *texture = rill_stored_attachment_is_image (attachment)
                            ? cached_thumbnail (attachment->sha256, scale) : NULL;

      g_ptr_array_add (textures, texture ? g_object_ref (texture) : NULL);
      if (rill_stored_attachment_is_image (attachment) && texture == NULL)
        {
          all_cached = FALSE;
          if (attachment->thumbnail == NULL)
            any_missing = TRUE;
        }
    }
  if (all_cached)
    {
      add_attachment_widgets (self, attachments, textures, scale);
      return;
    }

  /* Images stored before there were thumbnails: their bytes, this once,
   * for the worker to make one from. */
  if (any_missing && (full = rill_store_list_attachments (store, self->message_id, NULL)))
    for (guint i = 0; i < attachments->len && i < full->len; i++)
      {
        RillStoredAttachment *attachment = g_ptr_array_index (attachments, i);
        RillStoredAttachment *with_bytes = g_ptr_array_index (full, i);

        if (attachment->thumbnail == NULL && with_bytes->id == attachment->id &&
            g_ptr_array_index (textures, i) == NULL)
          attachment->data = g_bytes_ref (with_bytes->data);
      }

  job = g_new0 (ThumbnailJob, 1);
  job->attachments = g_steal_pointer (&attachments);
  job->textures = g_steal_pointer (&textures);
  job->scale = scale;
  self->attachments_cancellable = g_cancellable_new ();
  task = g_task_new (self, self->attachments_cancellable, thumbnails_cb, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) thumbnail_job_free);
  g_task_run_in_thread (task, decode_thumbnails);
}

RillMessageRow *
rill_message_row_new (RillRole role)
{
  return g_object_new (RILL_TYPE_MESSAGE_ROW, "role", role, NULL);
}

RillMessageRow *
rill_message_row_new_for_message (RillMessage *message)
{
  RillMessageRow *self;
  const char *content;
  const char *reasoning;

  g_return_val_if_fail (RILL_IS_MESSAGE (message), NULL);

  self = rill_message_row_new (rill_message_get_role (message));
  self->message_id = rill_message_get_id (message);
  set_status (self, rill_message_get_status (message));
  set_string (self, &self->model, rill_message_get_model (message), PROP_MODEL);
  set_string (self, &self->error, rill_message_get_error (message), PROP_ERROR);
  rill_message_row_set_versions (self, rill_message_get_version (message),
                                 rill_message_get_n_versions (message));
  self->conversation_id = rill_message_get_conversation_id (message);
  self->ttft_ms = rill_message_get_ttft_ms (message);
  self->generation_ms = rill_message_get_generation_ms (message);
  self->prompt_tokens = rill_message_get_prompt_tokens (message);
  self->completion_tokens = rill_message_get_completion_tokens (message);
  update_cost (self);

  content = rill_message_get_content (message);
  reasoning = rill_message_get_reasoning (message);
  if (reasoning != NULL && *reasoning != '\0')
    update_reasoning (self, reasoning, strlen (reasoning));
  if (self->role == RILL_ROLE_ASSISTANT)
    update_text (self, content ? content : "", content ? strlen (content) : 0, TRUE);
  else
    rill_message_row_set_text (self, content ? content : "");
  return self;
}

void
rill_message_row_set_text (RillMessageRow *self,
                           const char     *text)
{
  GtkWidget *label;
  GtkWidget *child;

  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));

  /* What people type is shown as typed, not as markdown. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->blocks_box)))
         != GTK_WIDGET (self->tail_view))
    gtk_box_remove (self->blocks_box, child);
  g_string_assign (self->source, text);
  self->committed = self->source->len;
  label = rill_block_widget_new_text (text, strlen (text), RILL_BLOCK_PARAGRAPH, FALSE);
  gtk_box_prepend (self->blocks_box, label);
}

RillRole
rill_message_row_get_role (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), RILL_ROLE_USER);
  return self->role;
}

RillStatus
rill_message_row_get_status (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), RILL_STATUS_COMPLETE);
  return self->status;
}

gint64
rill_message_row_get_message_id (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), 0);
  return self->message_id;
}

void
rill_message_row_set_message_id (RillMessageRow *self,
                                 gint64          message_id)
{
  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));
  self->message_id = message_id;
  read_attachments (self);
}

const char *
rill_message_row_get_source (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  return self->source->str;
}

char *
_rill_message_row_dup_shown_text (RillMessageRow *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *tail = NULL;

  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);

  buffer = gtk_text_view_get_buffer (self->tail_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  tail = gtk_text_buffer_get_text (buffer, &start, &end, TRUE);
  return g_strdup_printf ("%.*s%s", (int) self->committed, self->source->str, tail);
}

void
_rill_message_row_feed (RillMessageRow *self,
                        const char     *text,
                        gsize           len,
                        gboolean        at_end)
{
  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));
  update_text (self, text, len, at_end);
}

GtkTextBuffer *
_rill_message_row_get_tail_buffer (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  return gtk_text_view_get_buffer (self->tail_view);
}

void
rill_message_row_set_is_last (RillMessageRow *self,
                              gboolean        is_last)
{
  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));

  is_last = !!is_last;
  if (self->is_last == is_last)
    return;
  self->is_last = is_last;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_LAST]);
}

void
rill_message_row_set_versions (RillMessageRow *self,
                               guint           version,
                               guint           n_versions)
{
  g_return_if_fail (RILL_IS_MESSAGE_ROW (self));

  g_object_freeze_notify (G_OBJECT (self));
  if (self->version != version)
    {
      self->version = version;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
    }
  if (self->n_versions != n_versions)
    {
      self->n_versions = n_versions;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_VERSIONS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

guint
rill_message_row_get_version (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), 0);
  return self->version;
}

guint
rill_message_row_get_n_versions (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), 0);
  return self->n_versions;
}

GtkWidget *
_rill_message_row_get_version_button (RillMessageRow *self,
                                      int             offset)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  return GTK_WIDGET (offset < 0 ? self->previous_version_button : self->next_version_button);
}

GtkButton *
_rill_message_row_get_problem_button (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->problem_box)) ||
      !gtk_widget_get_visible (GTK_WIDGET (self->retry_button)))
    return NULL;
  return self->retry_button;
}

gboolean
_rill_message_row_is_drawn (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), FALSE);
  return rill_block_column_is_drawn (RILL_BLOCK_COLUMN (self->blocks_box));
}

/* What a reply cost, under it, quietly: "llama3 — Ollama · 0.42 s to first
 * token · 38.1 tokens/s · 120 tokens in · 311 out". Only what is known:
 * tokens per second only when the server reported its tokens, never an
 * estimate. The server is the conversation's, named as the session lists
 * it, else by its address. */

static char *
cost_server_label (RillMessageRow *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autoptr(RillSession) session = NULL;
  g_autoptr(RillConversation) conversation = NULL;
  RillServerItem *item;
  RillStore *store;
  const char *server;

  if (self->conversation_id == 0 || root == NULL ||
      !g_object_class_find_property (G_OBJECT_GET_CLASS (root), "session"))
    return NULL;
  g_object_get (root, "session", &session, NULL);
  if (session == NULL || (store = rill_session_get_store (session)) == NULL)
    return NULL;
  conversation = rill_store_get_conversation (store, self->conversation_id, NULL);
  if (conversation == NULL || (server = rill_conversation_get_server (conversation)) == NULL)
    return NULL;
  if ((item = rill_session_find_server (session, server)) != NULL)
    return g_strdup (rill_server_item_get_label (item));
  return g_strdup (rill_conversation_get_server_url (conversation));
}

/* One figure is never broken across lines: "0.42 s to first token". */
static char *
unbroken (char *text)
{
  g_auto(GStrv) words = g_strsplit (text, " ", -1);

  g_free (text);
  return g_strjoinv ("\u00a0", words);
}

static void
update_cost (RillMessageRow *self)
{
  g_autoptr(GPtrArray) shown = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) spoken = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *server = NULL;
  g_autofree char *text = NULL;
  g_autofree char *words = NULL;
  g_autofree char *label = NULL;

  if (self->role != RILL_ROLE_ASSISTANT ||
      (self->status != RILL_STATUS_COMPLETE && self->status != RILL_STATUS_STOPPED))
    {
      gtk_widget_set_visible (GTK_WIDGET (self->cost_label), FALSE);
      return;
    }

  server = cost_server_label (self);
  if (self->model != NULL && *self->model != '\0')
    {
      /* translators: under a reply, the model that wrote it and its server */
      g_ptr_array_add (shown, server ? g_strdup_printf (_("%s — %s"), self->model, server)
                                     : g_strdup (self->model));
      /* translators: for screen readers, the model that wrote a reply and its server */
      g_ptr_array_add (spoken, server ? g_strdup_printf (_("%s on %s"), self->model, server)
                                      : g_strdup (self->model));
    }
  if (self->ttft_ms >= 0)
    {
      /* translators: under a reply: the seconds until its first word came */
      g_ptr_array_add (shown, unbroken (g_strdup_printf (_("%.2f s to first token"),
                                                         self->ttft_ms / 1000.0)));
      g_ptr_array_add (spoken, g_strdup_printf (_("%.2f seconds to the first token"),
                                                self->ttft_ms / 1000.0));
    }
  if (self->completion_tokens > 0 && self->generation_ms > 0)
    {
      double rate = self->completion_tokens * 1000.0 / self->generation_ms;

      g_ptr_array_add (shown, unbroken (g_strdup_printf (_("%.1f tokens/s"), rate)));
      g_ptr_array_add (spoken, g_strdup_printf (_("%.1f tokens per second"), rate));
    }
  if (self->prompt_tokens >= 0)
    {
      guint n = (guint) MIN (self->prompt_tokens, G_MAXUINT);
      char *in = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u token in", "%u tokens in", n),
                                  n);

      g_ptr_array_add (spoken, g_strdup (in));
      g_ptr_array_add (shown, unbroken (in));
    }
  if (self->completion_tokens >= 0)
    {
      guint n = (guint) MIN (self->completion_tokens, G_MAXUINT);
      char *out = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u token out", "%u tokens out",
                                                n),
                                   n);

      g_ptr_array_add (spoken, g_strdup (out));
      g_ptr_array_add (shown, unbroken (out));
    }

  /* The model alone is already the author above. */
  gtk_widget_set_visible (GTK_WIDGET (self->cost_label), shown->len > 1 || server != NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->cost_label)))
    return;
  g_ptr_array_add (shown, NULL);
  text = g_strjoinv (" · ", (char **) shown->pdata);
  gtk_label_set_text (self->cost_label, text);
  g_ptr_array_add (spoken, NULL);
  words = g_strjoinv (", ", (char **) spoken->pdata);
  /* translators: for screen readers, what a reply cost: the model, the
   * time to its first token, tokens per second, tokens in and out */
  label = g_strdup_printf (_("Reply statistics: %s"), words);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->cost_label),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

const char *
_rill_message_row_get_cost_text (RillMessageRow *self)
{
  g_return_val_if_fail (RILL_IS_MESSAGE_ROW (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->cost_label))
         ? gtk_label_get_text (self->cost_label) : NULL;
}
