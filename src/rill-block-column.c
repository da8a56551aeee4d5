/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-block-column.c
 *
 * Two costs grow with a reply's length, and this box bounds both.
 *
 * Drawing: GtkBox snapshots every child, and the cairo renderer draws every
 * node it is given, clipped or not, so a 2 MiB reply paid its whole glyph
 * run on each frame (17 ms a frame at the start of a 2 MiB line, 117 ms at
 * its end). This box snapshots only the blocks that meet the scrolled
 * window's view, with half a view to spare, and draws again when the view
 * moves, since a moved view keeps the cached nodes.
 *
 * Layout: a label is shaped three times when it is first measured (as one
 * line, at its narrowest and at its width), about 3 ms a KiB here. When a
 * burst brings more text in one frame than the view can show, the blocks
 * that are already out of view get a placeholder of the height their text
 * is likely to take, and are laid out when they come within a view of being
 * seen, or a few at a time while the main loop is idle. */

#include "rill-block-column.h"

#define REALIZE_SLICE_US 4000

/* Placeholder */

#define RILL_TYPE_BLOCK_PLACEHOLDER (rill_block_placeholder_get_type ())
G_DECLARE_FINAL_TYPE (RillBlockPlaceholder, rill_block_placeholder,
                      RILL, BLOCK_PLACEHOLDER, GtkWidget)

struct _RillBlockPlaceholder
{
  GtkWidget      parent_instance;

  guint          n_chars;
  guint          n_lines;
  gboolean       monospace;
  gpointer       data;
  GDestroyNotify destroy;
};

G_DEFINE_FINAL_TYPE (RillBlockPlaceholder, rill_block_placeholder, GTK_TYPE_WIDGET)

static void
rill_block_placeholder_measure (GtkWidget      *widget,
                                GtkOrientation  orientation,
                                int             for_size,
                                int            *minimum,
                                int            *natural,
                                int            *minimum_baseline,
                                int            *natural_baseline)
{
  RillBlockPlaceholder *self = RILL_BLOCK_PLACEHOLDER (widget);
  GtkWidget *column = gtk_widget_get_parent (widget);

  *minimum = *natural = 0;
  if (orientation == GTK_ORIENTATION_VERTICAL && RILL_IS_BLOCK_COLUMN (column))
    *minimum = *natural = rill_block_column_estimate_height (RILL_BLOCK_COLUMN (column),
                                                             self->n_chars, self->n_lines,
                                                             self->monospace);
}

static void
rill_block_placeholder_finalize (GObject *object)
{
  RillBlockPlaceholder *self = RILL_BLOCK_PLACEHOLDER (object);

  if (self->destroy != NULL)
    self->destroy (self->data);
  G_OBJECT_CLASS (rill_block_placeholder_parent_class)->finalize (object);
}

static void
rill_block_placeholder_class_init (RillBlockPlaceholderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rill_block_placeholder_finalize;
  GTK_WIDGET_CLASS (klass)->measure = rill_block_placeholder_measure;
}

static void
rill_block_placeholder_init (RillBlockPlaceholder *self)
{
}

/* Column */

struct _RillBlockColumn
{
  GtkBox         parent_instance;

  GtkAdjustment *vadjustment;
  guint          near_view_id;
  guint          idle_id;

  /* Pango units, measured once */
  int            char_width;
  int            line_height;
  int            mono_char_width;
  int            mono_line_height;
};

G_DEFINE_FINAL_TYPE (RillBlockColumn, rill_block_column, GTK_TYPE_BOX)

enum {
  SIGNAL_REALIZE_BLOCK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean realize_when_idle_cb (gpointer user_data);

/* The part of the scrolled window's view that @self covers, widened by
 * @margin views above and below, in @self's coordinates, or FALSE when
 * @self is not in one. */
static gboolean
get_view (RillBlockColumn *self,
          double           margin,
          graphene_rect_t *view)
{
  GtkWidget *viewport = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);

  if (viewport == NULL || !gtk_widget_compute_bounds (viewport, GTK_WIDGET (self), view))
    return FALSE;
  graphene_rect_inset (view, 0, -view->size.height * margin);
  return TRUE;
}

static gboolean
meets (GtkWidget             *child,
       GtkWidget             *column,
       const graphene_rect_t *view)
{
  graphene_rect_t bounds;

  return gtk_widget_compute_bounds (child, column, &bounds) &&
         graphene_rect_intersection (&bounds, view, NULL);
}

static void
measure_fonts (RillBlockColumn *self)
{
  PangoContext *context = gtk_widget_get_pango_context (GTK_WIDGET (self));
  g_autoptr(PangoFontDescription) mono =
    pango_font_description_copy (pango_context_get_font_description (context));
  PangoFontMetrics *metrics;

  if (self->char_width > 0)
    return;
  metrics = pango_context_get_metrics (context, NULL, NULL);
  self->char_width = pango_font_metrics_get_approximate_char_width (metrics);
  self->line_height = pango_font_metrics_get_height (metrics);
  pango_font_metrics_unref (metrics);

  pango_font_description_set_family (mono, "monospace");
  metrics = pango_context_get_metrics (context, mono, NULL);
  self->mono_char_width = pango_font_metrics_get_approximate_char_width (metrics);
  self->mono_line_height = pango_font_metrics_get_height (metrics);
  pango_font_metrics_unref (metrics);
}

int
rill_block_column_estimate_height (RillBlockColumn *self,
                                   guint            n_chars,
                                   guint            n_lines,
                                   gboolean         monospace)
{
  int width;
  guint per_line, lines;

  g_return_val_if_fail (RILL_IS_BLOCK_COLUMN (self), 0);

  measure_fonts (self);
  width = gtk_widget_get_width (GTK_WIDGET (self));
  if (width <= 1)
    width = 600;
  if (monospace)
    /* The code's lines, its header and its padding. */
    return PANGO_PIXELS_CEIL (MAX (1, n_lines) * self->mono_line_height) + 48;
  per_line = MAX (1, width * PANGO_SCALE / MAX (1, self->char_width));
  lines = MAX (MAX (1, n_lines), (n_chars + per_line - 1) / per_line);
  return PANGO_PIXELS_CEIL (lines * self->line_height);
}

int
rill_block_column_get_view_height (RillBlockColumn *self)
{
  g_return_val_if_fail (RILL_IS_BLOCK_COLUMN (self), 0);
  return self->vadjustment ? (int) gtk_adjustment_get_page_size (self->vadjustment) : 0;
}

GtkWidget *
rill_block_column_add_placeholder (RillBlockColumn *self,
                                   GtkWidget       *before,
                                   guint            n_chars,
                                   guint            n_lines,
                                   gboolean         monospace,
                                   gpointer         data,
                                   GDestroyNotify   destroy)
{
  RillBlockPlaceholder *placeholder;

  g_return_val_if_fail (RILL_IS_BLOCK_COLUMN (self), NULL);

  placeholder = g_object_new (RILL_TYPE_BLOCK_PLACEHOLDER, NULL);
  placeholder->n_chars = n_chars;
  placeholder->n_lines = n_lines;
  placeholder->monospace = monospace;
  placeholder->data = data;
  placeholder->destroy = destroy;
  gtk_box_insert_child_after (GTK_BOX (self), GTK_WIDGET (placeholder),
                              before ? gtk_widget_get_prev_sibling (before)
                                     : gtk_widget_get_last_child (GTK_WIDGET (self)));
  if (self->idle_id == 0)
    self->idle_id = g_idle_add_full (G_PRIORITY_LOW, realize_when_idle_cb, self, NULL);
  return GTK_WIDGET (placeholder);
}

gpointer
rill_block_column_get_placeholder_data (GtkWidget *placeholder)
{
  g_return_val_if_fail (RILL_IS_BLOCK_PLACEHOLDER (placeholder), NULL);
  return RILL_BLOCK_PLACEHOLDER (placeholder)->data;
}

gboolean
rill_block_column_is_placeholder (GtkWidget *widget)
{
  return RILL_IS_BLOCK_PLACEHOLDER (widget);
}

void
rill_block_column_replace (RillBlockColumn *self,
                           GtkWidget       *placeholder,
                           GtkWidget       *block)
{
  graphene_rect_t view, bounds;
  gboolean above_view;
  int before_height, after_height;

  g_return_if_fail (RILL_IS_BLOCK_COLUMN (self));
  g_return_if_fail (RILL_IS_BLOCK_PLACEHOLDER (placeholder));
  g_return_if_fail (gtk_widget_get_parent (placeholder) == GTK_WIDGET (self));

  /* A block above the view that turns out taller or shorter than guessed
   * would move what the person is reading: the view moves with it. */
  above_view = self->vadjustment != NULL && get_view (self, 0, &view) &&
               gtk_widget_compute_bounds (placeholder, GTK_WIDGET (self), &bounds) &&
               bounds.origin.y + bounds.size.height <= view.origin.y;
  before_height = gtk_widget_get_height (placeholder);

  gtk_widget_set_margin_top (block, gtk_widget_get_margin_top (placeholder));
  gtk_box_insert_child_after (GTK_BOX (self), block, placeholder);
  gtk_box_remove (GTK_BOX (self), placeholder);

  if (above_view && gtk_widget_get_width (GTK_WIDGET (self)) > 1)
    {
      gtk_widget_measure (block, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (GTK_WIDGET (self)),
                          &after_height, NULL, NULL, NULL);
      if (after_height != before_height)
        {
          double value = gtk_adjustment_get_value (self->vadjustment)
                         + after_height - before_height;

          /* The adjustment learns its new upper bound at the next layout. */
          gtk_adjustment_set_upper (self->vadjustment,
                                    gtk_adjustment_get_upper (self->vadjustment)
                                    + after_height - before_height);
          gtk_adjustment_set_value (self->vadjustment, value);
        }
    }
}

static void
realize_block (RillBlockColumn *self,
               GtkWidget       *placeholder)
{
  g_object_ref (placeholder);
  g_signal_emit (self, signals[SIGNAL_REALIZE_BLOCK], 0, placeholder);
  /* A handler that does not replace it would be asked again and again. */
  if (gtk_widget_get_parent (placeholder) == GTK_WIDGET (self))
    gtk_box_remove (GTK_BOX (self), placeholder);
  g_object_unref (placeholder);
}

static gboolean
realize_near_view_cb (gpointer user_data)
{
  RillBlockColumn *self = user_data;
  graphene_rect_t view;
  GtkWidget *child, *next;

  self->near_view_id = 0;
  if (!get_view (self, 1, &view))
    return G_SOURCE_REMOVE;
  for (child = gtk_widget_get_first_child (GTK_WIDGET (self)); child != NULL; child = next)
    {
      next = gtk_widget_get_next_sibling (child);
      if (RILL_IS_BLOCK_PLACEHOLDER (child) && meets (child, GTK_WIDGET (self), &view))
        realize_block (self, child);
    }
  return G_SOURCE_REMOVE;
}

/* While idle, the rest, from the end up, a few milliseconds at a time. */
static gboolean
realize_when_idle_cb (gpointer user_data)
{
  RillBlockColumn *self = user_data;
  gint64 until = g_get_monotonic_time () + REALIZE_SLICE_US;
  GtkWidget *child, *prev;

  for (child = gtk_widget_get_last_child (GTK_WIDGET (self)); child != NULL; child = prev)
    {
      prev = gtk_widget_get_prev_sibling (child);
      if (!RILL_IS_BLOCK_PLACEHOLDER (child))
        continue;
      realize_block (self, child);
      if (g_get_monotonic_time () >= until)
        return G_SOURCE_CONTINUE;
    }
  self->idle_id = 0;
  return G_SOURCE_REMOVE;
}

static void
rill_block_column_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  RillBlockColumn *self = RILL_BLOCK_COLUMN (widget);
  graphene_rect_t view, near;
  gboolean culled = get_view (self, 0.5, &view);

  if (self->idle_id != 0 && self->near_view_id == 0 && get_view (self, 1, &near))
    for (GtkWidget *child = gtk_widget_get_first_child (widget);
         child != NULL && self->near_view_id == 0;
         child = gtk_widget_get_next_sibling (child))
      if (RILL_IS_BLOCK_PLACEHOLDER (child) && meets (child, widget, &near))
        self->near_view_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE + 25,
                                              realize_near_view_cb, self, NULL);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (culled && !meets (child, widget, &view))
        continue;
      gtk_widget_snapshot_child (widget, child, snapshot);
    }
}

gboolean
rill_block_column_is_drawn (RillBlockColumn *self)
{
  graphene_rect_t view;

  g_return_val_if_fail (RILL_IS_BLOCK_COLUMN (self), FALSE);

  if (!get_view (self, 0, &view))
    view = GRAPHENE_RECT_INIT (-G_MAXFLOAT / 2, -G_MAXFLOAT / 2, G_MAXFLOAT, G_MAXFLOAT);
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (RILL_IS_BLOCK_PLACEHOLDER (child) && meets (child, GTK_WIDGET (self), &view))
      return FALSE;
  return TRUE;
}

static void
set_vadjustment (RillBlockColumn *self,
                 GtkAdjustment   *vadjustment)
{
  if (self->vadjustment == vadjustment)
    return;
  if (self->vadjustment != NULL)
    g_signal_handlers_disconnect_by_data (self->vadjustment, self);
  g_set_object (&self->vadjustment, vadjustment);
  if (vadjustment != NULL)
    {
      g_signal_connect_object (vadjustment, "value-changed", G_CALLBACK (gtk_widget_queue_draw),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (vadjustment, "changed", G_CALLBACK (gtk_widget_queue_draw),
                               self, G_CONNECT_SWAPPED);
    }
}

static void
rill_block_column_root (GtkWidget *widget)
{
  RillBlockColumn *self = RILL_BLOCK_COLUMN (widget);
  GtkWidget *scroller;

  GTK_WIDGET_CLASS (rill_block_column_parent_class)->root (widget);
  scroller = gtk_widget_get_ancestor (widget, GTK_TYPE_SCROLLED_WINDOW);
  set_vadjustment (self,
                   scroller ? gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller))
                            : NULL);
}

static void
rill_block_column_unroot (GtkWidget *widget)
{
  set_vadjustment (RILL_BLOCK_COLUMN (widget), NULL);
  GTK_WIDGET_CLASS (rill_block_column_parent_class)->unroot (widget);
}

static void
rill_block_column_dispose (GObject *object)
{
  RillBlockColumn *self = RILL_BLOCK_COLUMN (object);

  set_vadjustment (self, NULL);
  g_clear_handle_id (&self->near_view_id, g_source_remove);
  g_clear_handle_id (&self->idle_id, g_source_remove);
  G_OBJECT_CLASS (rill_block_column_parent_class)->dispose (object);
}

static void
rill_block_column_class_init (RillBlockColumnClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rill_block_column_dispose;
  widget_class->snapshot = rill_block_column_snapshot;
  widget_class->root = rill_block_column_root;
  widget_class->unroot = rill_block_column_unroot;

  signals[SIGNAL_REALIZE_BLOCK] =
    g_signal_new ("realize-block", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, GTK_TYPE_WIDGET);
}

static void
rill_block_column_init (RillBlockColumn *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}
