/* rill-block-column.c
 *
 * GtkBox snapshots every child, and the cairo renderer draws every node it
 * is given, clipped or not: a 2 MiB reply costs its whole glyph run on each
 * frame, and frames get slower as the reply grows (17 ms at the start of a
 * 2 MiB line, 117 ms at its end). This box snapshots only the blocks that
 * meet the scrolled window's view, with half a view to spare, and draws
 * again when the view moves, since a moved view keeps the cached nodes. */

#include "rill-block-column.h"

struct _RillBlockColumn
{
  GtkBox         parent_instance;

  GtkAdjustment *vadjustment;
};

G_DEFINE_FINAL_TYPE (RillBlockColumn, rill_block_column, GTK_TYPE_BOX)

/* The part of the scrolled window's view that @self covers, in @self's
 * coordinates, or FALSE when @self is not in one. */
static gboolean
get_view (RillBlockColumn *self,
          graphene_rect_t *view)
{
  GtkWidget *viewport = gtk_widget_get_ancestor (GTK_WIDGET (self), GTK_TYPE_SCROLLED_WINDOW);

  if (viewport == NULL || !gtk_widget_compute_bounds (viewport, GTK_WIDGET (self), view))
    return FALSE;
  graphene_rect_inset (view, 0, -view->size.height / 2);
  return TRUE;
}

static void
rill_block_column_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  RillBlockColumn *self = RILL_BLOCK_COLUMN (widget);
  graphene_rect_t view;
  gboolean culled = get_view (self, &view);

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      graphene_rect_t bounds;

      if (culled && gtk_widget_compute_bounds (child, widget, &bounds) &&
          !graphene_rect_intersection (&bounds, &view, NULL))
        continue;
      gtk_widget_snapshot_child (widget, child, snapshot);
    }
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
  set_vadjustment (self, scroller ? gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller)) : NULL);
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
  set_vadjustment (RILL_BLOCK_COLUMN (object), NULL);
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
}

static void
rill_block_column_init (RillBlockColumn *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
}
