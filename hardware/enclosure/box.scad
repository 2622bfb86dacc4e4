// ressenti button box: a wall-mounted case for a Raspberry Pi and 3 to 5 arcade buttons.
//
// Two printed parts: the back box (Pi stand-offs, wall-mount keyholes, cable gland, vents)
// and the front panel (button holes, an engraved face above each, the status LED).
// Render: openscad -o box-4.stl -D scale=4 box.scad  (see render.sh; tests/test_hardware.py)
// Slot 1, on the left as the citizen faces the box, is the best face: the same order as
// kiosk/pinmap.toml and ressenti/faces.py, whose mouth curve the pictograms copy.

scale = 4;             // faces on the box: 3, 4 or 5 (the site's scale setting)
part = "both";         // "back", "front", or "both" (laid side by side, as printed)
pi = "4";              // "4": Pi 3/4/5 footprint (85 x 56); "zero": Pi Zero 2 W (65 x 30)

button_hole = 28;      // 30 mm screw-in arcade buttons; 24 mm buttons want 24
button_pitch = 52;     // centre to centre: room for the nut and the microswitch
face_d = 32;           // engraved pictogram, above each button
engrave = 0.8;         // engraving depth
status_led_hole = 6.3; // 5 mm LED in a panel clip
gland_hole = 20.5;     // M20 cable gland (split seal for pre-terminated cables)
wall = 3;              // walls and back plate
panel = 3;             // front panel: screw-in arcade buttons clamp 2..6 mm
depth = 75;            // inside, panel to back plate: button + microswitch (~40) + Pi (~30)
margin = 22;           // panel edge to the outer buttons' centres, minus half a pitch
height = 124;          // outer, along the wall
wall_screw = 4.5;      // keyholes for 4 mm wood screws (head up to 9 mm)
panel_screw = 3.4;     // M3 countersunk panel screws...
post_pilot = 2.6;      // ...tapped into the corner posts (or 4.0 for heat-set inserts)
pi_pilot = 2.2;        // M2.5 self-tapping screws into the Pi stand-offs
clearance = 0.3;
face_fn = 64;          // smoothness of the engraved outlines (tests lower it, and $fn, for speed)

$fn = 40;

assert(scale >= 3 && scale <= 5, "scale must be 3, 4 or 5 (faces on the box)");
assert(part == "back" || part == "front" || part == "both", "part: back, front or both");
assert(pi == "4" || pi == "zero", "pi: \"4\" (Pi 3/4/5) or \"zero\" (Zero 2 W)");

width = scale * button_pitch + 2 * margin;
button_y = 44;                                      // from the bottom edge
face_y = button_y + button_hole / 2 + 8 + face_d / 2;
status_y = height - 11;
post_inset = wall + 3.5;                            // corner post centres from the outer edges
corners = [for (x = [post_inset, width - post_inset], y = [post_inset, height - post_inset]) [x, y]];

// One list drives the holes, the pictograms and the echo the tests read.
button_x = [for (i = [0 : scale - 1]) margin + button_pitch * (i + 0.5)];

function rating(position) = scale + 1 - position;                 // best face on the left
function mouth_curve(r) = -1 + 2 * (r - 1) / (scale - 1);         // ressenti/faces.py
curves = [for (p = [1 : scale]) mouth_curve(rating(p))];

echo(button_holes = len(button_x));
echo(mouth_curves = curves);
echo(outer_size_mm = [width, height, depth + wall + panel]);

// Pi mounting holes, from the board's corner: 3.5 mm in, 58 x 49 (Pi 3/4/5) or 58 x 23 (Zero).
pi_holes = pi == "4" ? [[0, 0], [58, 0], [0, 49], [58, 49]] : [[0, 0], [58, 0], [0, 23], [58, 23]];
pi_board = pi == "4" ? [85, 56] : [65, 30];
pi_origin = [(width - pi_board[0]) / 2 + 3.5, height - wall - 8 - pi_board[1] + 3.5];

// ------------------------------------------------------------------------ pictograms

// A face drawn like the wall display's (collector/static/wall/wall.js) in its 100-unit box:
// outline ring r 46, eyes at (35, 38) and (65, 38), mouth a quadratic curve whose depth
// follows `curve` (-1 frown .. +1 smile). SVG's y points down; here y points up.
module face(curve, d) {
    k = d / 100;
    function p(x, y) = [(x - 50) * k, (50 - y) * k];
    mouth_depth = 14 * curve;
    a = [28, 64 - mouth_depth / 2];
    c = [50, 64 + mouth_depth * 1.5];
    b = [72, 64 - mouth_depth / 2];
    steps = 12;
    pts = [for (i = [0 : steps]) let (t = i / steps)
        p((1 - t) * (1 - t) * a[0] + 2 * (1 - t) * t * c[0] + t * t * b[0],
          (1 - t) * (1 - t) * a[1] + 2 * (1 - t) * t * c[1] + t * t * b[1])];
    stroke = 6 * k;
    difference() {
        circle(r = 48 * k, $fn = face_fn);
        circle(r = 44 * k, $fn = face_fn);
    }
    eye_h = curve < -0.5 ? 3 : 6;
    for (x = [35, 65]) translate(p(x, 38)) scale([6 * k, eye_h * k]) circle(r = 1, $fn = 24);
    for (i = [0 : steps - 1]) hull() {
        translate(pts[i]) circle(d = stroke, $fn = 16);
        translate(pts[i + 1]) circle(d = stroke, $fn = 16);
    }
}

// --------------------------------------------------------------------------- front

module front_panel() {
    inner = [width - 2 * wall - 2 * clearance, height - 2 * wall - 2 * clearance];
    difference() {
        union() {
            rounded_plate([width, height], panel, 4);
            // A rim that drops inside the walls and locates the panel.
            translate([wall + clearance, wall + clearance, -3]) difference() {
                cube([inner[0], inner[1], 3]);
                translate([1.6, 1.6, -1]) cube([inner[0] - 3.2, inner[1] - 3.2, 5]);
            }
        }
        for (x = button_x) translate([x, button_y, -5]) cylinder(d = button_hole, h = panel + 10);
        translate([width / 2, status_y, -5]) cylinder(d = status_led_hole, h = panel + 10);
        for (c = corners) translate([c[0], c[1], 0]) {
            translate([0, 0, -5]) cylinder(d = panel_screw, h = panel + 10);
            translate([0, 0, panel - 1.8]) cylinder(d1 = panel_screw, d2 = 6.6, h = 1.81);
            translate([0, 0, -4]) cylinder(d = 9.5, h = 4);  // room for the post in the rim
        }
        for (i = [0 : scale - 1]) translate([button_x[i], face_y, panel - engrave])
            linear_extrude(engrave + 1) face(curves[i], face_d);
    }
}

// ---------------------------------------------------------------------------- back

module keyhole() {
    // Hang on a screw through the big circle, slide down onto the slot.
    translate([0, 0, -1]) {
        cylinder(d = 9.5, h = wall + 2);
        hull() {
            cylinder(d = wall_screw, h = wall + 2);
            translate([0, 10, 0]) cylinder(d = wall_screw, h = wall + 2);
        }
    }
}

module back_box() {
    difference() {
        union() {
            difference() {
                rounded_plate([width, height], wall + depth, 4);
                translate([wall, wall, wall]) cube([width - 2 * wall, height - 2 * wall, depth + 1]);
            }
            for (c = corners) translate([c[0], c[1], 0]) cylinder(d = 9, h = wall + depth);
            for (h = pi_holes) translate([pi_origin[0] + h[0], pi_origin[1] + h[1], 0])
                cylinder(d = 6.5, h = wall + 6);
        }
        for (c = corners) translate([c[0], c[1], wall + 4]) cylinder(d = post_pilot, h = depth);
        for (h = pi_holes) translate([pi_origin[0] + h[0], pi_origin[1] + h[1], 1])
            cylinder(d = pi_pilot, h = wall + 6);
        // Wall mount: two keyholes near the top, one fixed screw low down so the box
        // cannot be lifted off the wall without opening it.
        for (x = [24, width - 24]) translate([x, height - 36, 0]) keyhole();
        translate([width / 2, 20, -1]) cylinder(d = wall_screw, h = wall + 2);
        // Cable gland through the bottom wall, clear of the corner post.
        translate([width - 40, -1, wall + depth / 2]) rotate([-90, 0, 0])
            cylinder(d = gland_hole, h = wall + 2);
        // Vents: in through the bottom, out through the sides near the top.
        for (i = [0 : 5]) translate([26 + i * 8, -1, wall + 15]) cube([3, wall + 2, depth - 30]);
        for (x = [-1, width - wall - 1], i = [0 : 3])
            translate([x, height - 48 + i * 8, wall + 15]) cube([wall + 2, 3, depth - 30]);
    }
}

module rounded_plate(size, h, r) {
    hull() for (x = [r, size[0] - r], y = [r, size[1] - r]) translate([x, y, 0]) cylinder(r = r, h = h);
}

if (part == "back" || part == "both") back_box();
if (part == "front") front_panel();
if (part == "both") translate([0, -height - 20, 0]) front_panel();
